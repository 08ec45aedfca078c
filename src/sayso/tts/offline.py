"""`sayso say "TEXT" -o OUT.wav`: synthesize text into a 16-bit mono WAV file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np

from sayso.audio.io import write_wav
from sayso.config import Settings
from sayso.errors import ConfigError, TtsError
from sayso.tts.base import Tts
from sayso.tts.speakable import speakable
from sayso.types import AudioChunk

MAX_CHARS = 20_000


def say_to_file(settings: Settings, text: str, out: Path, *, voice: str | None = None,
                rate: float | None = None) -> dict[str, Any]:
    """Speak ``text`` into ``out``. An explicit ``voice`` must load (no silent fallback)."""
    spoken = speakable(text)
    if not any(ch.isalnum() for ch in spoken):
        raise TtsError("There is nothing to say: the text is empty.", code="tts.empty")
    if len(text) > MAX_CHARS:
        raise TtsError(f"The text is {len(text)} characters long; the limit is {MAX_CHARS}.",
                       code="tts.too_long")
    if rate is not None and not 0.5 <= rate <= 2.0:
        raise ConfigError(f"Speaking rate {rate} is out of range: use 0.5 to 2.0.", code="tts.rate")
    if out.parent and not out.parent.is_dir():
        raise ConfigError(f"The folder {out.parent} does not exist.", code="tts.out_dir",
                          hint="Create it or choose another output path.")
    t0 = time.perf_counter()
    from sayso.tts.factory import build_tts

    tts = build_tts(settings, voice=voice, rate=rate, fallback=False)
    chunks = asyncio.run(_speak(tts, spoken))
    if not chunks:
        raise TtsError("The voice produced no audio for this text.", code="tts.empty")
    samples = np.concatenate([np.asarray(c.samples, dtype=np.int16) for c in chunks])
    write_wav(out, AudioChunk(samples=samples, rate=chunks[0].rate, channels=1))
    return {
        "path": str(out),
        "audio_s": samples.shape[0] / chunks[0].rate,
        "rate": chunks[0].rate,
        "voice": voice_name(tts),
        "chunks": len(chunks),
        "elapsed_ms": (time.perf_counter() - t0) * 1000,
    }


async def _speak(tts: Tts, text: str) -> list[AudioChunk]:
    """Every chunk of ``text`` through the ``Tts`` protocol (any backend), then close it."""
    try:
        return [chunk async for chunk in tts.synthesize(text)]
    finally:
        await tts.close()


def voice_name(tts: Tts) -> str:
    """E.g. 'piper en_US-joe-medium', 'espeak en-us', 'wyoming 127.0.0.1:10200'."""
    model = getattr(tts, "model", None)
    detail = (Path(model).stem if isinstance(model, Path) else None) or getattr(tts, "voice", None) \
        or getattr(tts, "address", None) or ""
    return f"{tts.name} {detail}".strip()
