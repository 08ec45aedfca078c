"""``sayso worker install chatterbox``: a separate virtual environment for the Chatterbox worker.

chatterbox-tts 0.1.7 pins torch/torchaudio 2.6.0, numpy<2, transformers 5.2.0 and gradio 6.8.0,
so it cannot share sayso's environment. This builds ``DATA_DIR/venvs/chatterbox`` (or the path
given) with Chatterbox, the few libraries sayso's worker needs, and sayso itself without its
dependencies; ``sayso worker serve --tts chatterbox`` then runs the worker with that Python.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sayso.config import Settings
from sayso.errors import ConfigError, SaysoError

log = logging.getLogger(__name__)

# resolved together with pip's resolver on 2025-11 (numpy 1.26.4, torch 2.6.0, pydantic 2.14.4)
CHATTERBOX_REQUIREMENTS = (
    "chatterbox-tts==0.1.7",
    "setuptools==80.9.0",  # resemble-perth needs pkg_resources: setuptools<81
    "wyoming==1.10.2",
    "pydantic==2.14.4",
    "pydantic-settings==2.16.3",
    "typer==0.29.2",
    "rich==15.0.0",
    "soxr==1.1.0",
    "soundfile==0.14.0",
    "psutil==7.2.2",
    "prometheus-client==0.26.0",
    "httpx==0.28.1",
)

Runner = Callable[[Sequence[str]], int]


def venv_dir(settings: Settings) -> Path:
    return Path(settings.chatterbox_venv) if settings.chatterbox_venv else settings.data_dir / "venvs" / "chatterbox"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def sayso_source() -> Path:
    """The directory holding sayso's pyproject.toml (the worker env installs sayso from it)."""
    import sayso

    root = Path(sayso.__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise ConfigError("sayso's source tree was not found, so it cannot be installed into the "
                          "Chatterbox environment.", hint="Run this from a source checkout of sayso.")
    return root


def install_steps(venv: Path, *, python: str = sys.executable, source: Path | None = None) -> list[list[str]]:
    vpy = str(venv_python(venv))
    pip = [vpy, "-m", "pip", "--disable-pip-version-check", "install"]
    return [
        [python, "-m", "venv", str(venv)],
        [*pip, "--upgrade", "pip"],
        [*pip, *CHATTERBOX_REQUIREMENTS],
        [*pip, "--no-deps", "-e", str(source or sayso_source())],
        [vpy, "-c", "import perth, chatterbox.tts; "
                    "assert perth.PerthImplicitWatermarker is not None, 'watermarker missing'"],
    ]


def _run(cmd: Sequence[str]) -> int:
    return subprocess.run(list(cmd), check=False).returncode


def install_chatterbox(settings: Settings, *, venv: Path | None = None, runner: Runner = _run) -> Path:
    """Build (or update) the Chatterbox environment; returns its directory."""
    target = venv or venv_dir(settings)
    steps = install_steps(target)
    if venv_python(target).exists():
        steps = steps[1:]
    for i, cmd in enumerate(steps, 1):
        log.info("step %d/%d: %s", i, len(steps), " ".join(cmd[:6]) + (" ..." if len(cmd) > 6 else ""))
        code = runner(cmd)
        if code != 0:
            raise SaysoError(f"Building the Chatterbox environment failed at step {i} of {len(steps)} "
                             f"(exit {code}).", code="worker.install",
                             hint=f"Run it by hand to see why: {' '.join(cmd)}")
    return target


def chatterbox_importable() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("chatterbox") is not None
    except (ImportError, ValueError):
        return False


def reexec_in_venv(settings: Settings, argv: Sequence[str]) -> None:
    """Replace this process with the same ``sayso worker serve`` in the Chatterbox env."""
    import os

    venv = venv_dir(settings)
    py = venv_python(venv)
    if Path(sys.prefix).resolve() == venv.resolve():
        raise ConfigError("Chatterbox is not installed in its own environment.",
                          hint="Run 'sayso worker install chatterbox' again.")
    if not py.exists():
        raise ConfigError(f"The Chatterbox environment ({venv}) has not been built.",
                          hint="Run 'sayso worker install chatterbox' first (a few GB).")
    log.info("starting the worker in %s", venv)
    os.execv(str(py), [str(py), "-m", "sayso", *argv])
