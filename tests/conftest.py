"""Shared fixtures. Every test runs with a clean SAYSO_* environment and a private data dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for key in list(os.environ):
        if key.startswith("SAYSO_"):
            monkeypatch.delenv(key, raising=False)
    data = tmp_path_factory.mktemp("sayso-data")
    monkeypatch.setenv("SAYSO_DATA_DIR", str(data))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def dev_commands_path() -> Path:
    """The team's development command set next to the repo, else the copy bundled with sayso.

    A new user's clone has no ../shared, so tests must not depend on it.
    """
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "commands-dev.tsv"
    if shared.is_file():
        return shared
    from importlib import resources

    return Path(str(resources.files("sayso.bench").joinpath("data", "commands-dev.tsv")))


@pytest.fixture(scope="session")
def commands_tsv() -> Path:
    return dev_commands_path()
