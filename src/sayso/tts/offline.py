"""`sayso say "TEXT" -o OUT.wav`: synthesize text into a 16-bit mono WAV file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from sayso.audio.io import write_wav
from sayso.errors import ConfigError, TtsError
from sayso.tts.speakable import speakable
from sayso.types import AudioChunk

MAX_CHARS = 20_000


def say_to_file(settings: Any, text: str, out: Path, *, voice: str | None = None,
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
    if voice is not None:
        from sayso.tts.piper import PiperTts

        tts: Any = PiperTts(settings=settings, voice=voice, rate=rate)
    else:
        from sayso.tts.factory import build_tts

        tts = build_tts(settings, **({"rate": rate} if rate is not None else {}))
    chunks: list[AudioChunk] = tts.synthesize_sync(spoken)
    if not chunks:
        raise TtsError("The voice produced no audio for this text.", code="tts.empty")
    samples = np.concatenate([np.asarray(c.samples, dtype=np.int16) for c in chunks])
    write_wav(out, AudioChunk(samples=samples, rate=chunks[0].rate, channels=1))
    return {
        "path": str(out),
        "audio_s": samples.shape[0] / chunks[0].rate,
        "rate": chunks[0].rate,
        "voice": f"{tts.name} {getattr(tts, 'model', None) and Path(tts.model).stem or getattr(tts, 'voice', '')}".strip(),
        "sentences": len(chunks),
        "elapsed_ms": (time.perf_counter() - t0) * 1000,
    }
