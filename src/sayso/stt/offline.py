"""`sayso transcribe FILE`: one file through the configured STT, with words and timings."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sayso.config import Settings
from sayso.types import AudioChunk, Utterance


def transcribe_file(settings: Settings, audio: AudioChunk) -> dict[str, Any]:
    """Transcribe a decoded file; the result is what ``sayso transcribe --json`` prints."""
    from sayso.registry import build

    t0 = time.perf_counter()
    if settings.stt == "faster-whisper":
        settings = settings.model_copy(update={"stt_word_timestamps": True})
    stt = build("stt", settings)

    async def run() -> tuple[Any, float]:
        t_load = time.perf_counter()
        await stt.warmup()
        load_ms = (time.perf_counter() - t_load) * 1000
        try:
            return await stt.transcribe(Utterance(audio=audio)), load_ms
        finally:
            await stt.close()

    transcript, load_ms = asyncio.run(run())
    return {
        "text": transcript.text,
        "words": [{"word": w.text, "start": w.start_s, "end": w.end_s,
                   "probability": round(w.probability, 3)} for w in transcript.words],
        "language": transcript.language,
        "no_speech_prob": _round(transcript.no_speech_prob),
        "avg_logprob": _round(transcript.avg_logprob),
        "audio_s": round(audio.duration_s, 3),
        "backend": getattr(stt, "name", settings.stt),
        "model": getattr(stt, "model", "") if settings.stt.startswith("wyoming://")
        else (settings.stt_model or "tiny.en"),
        "timings_ms": {
            "load_and_warmup": round(load_ms, 1),
            "transcribe": round(transcript.elapsed_ms, 1),
            "total": round((time.perf_counter() - t0) * 1000, 1),
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
