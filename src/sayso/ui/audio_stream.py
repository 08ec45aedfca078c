"""Audio glue between the browser and the pipeline: microphone in, streamed speech out.

- :class:`MicInput` takes Gradio's microphone chunks ``(rate, int16 array)`` and cuts them into
  utterances: with the VAD segmenter in hands-free mode, or one utterance per press in
  push-to-talk mode.
- :class:`AudioOut` turns the TTS chunks of one turn into 16-bit mono WAV bytes, all at one
  sample rate (Gradio re-encodes the stream and cannot change rate mid-stream; float arrays
  would be normalised per chunk and jump in volume).
- :func:`load_upload` decodes an uploaded file into one utterance, refusing empty, silent,
  corrupt and overlong recordings with one clear sentence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sayso.audio.convert import convert, from_array, to_16k_mono, to_int16
from sayso.audio.io import read_audio, wav_bytes
from sayso.errors import AudioError
from sayso.events import EventSink, TurnEvent, VadEnd, new_turn_id, now_ms
from sayso.types import SAMPLE_RATE, AudioChunk, Utterance

log = logging.getLogger(__name__)

PAD_S = 0.3  # silence kept around the speech of an upload


class PushSegmenter(Protocol):
    """The push API of ``sayso.audio.segmenter.Segmenter``."""

    @property
    def in_speech(self) -> bool: ...

    async def feed_async(self, chunk: AudioChunk) -> list[Utterance]: ...

    async def flush_async(self) -> list[Utterance]: ...

    def reset(self) -> None: ...


SegmenterFactory = Callable[..., PushSegmenter]


class MicInput:
    """One session's microphone stream.

    Hands-free: every chunk goes through the segmenter, which emits ``vad-start``/``vad-end``
    to ``sink`` and returns finished utterances. Push-to-talk: chunks are buffered and
    :meth:`stop` (the button released) turns them into one utterance.
    """

    def __init__(self, *, segmenter: PushSegmenter | None, sink: EventSink | None,
                 hands_free: bool = True, max_seconds: float = 30.0) -> None:
        self.segmenter = segmenter
        self.sink = sink
        self.hands_free = hands_free and segmenter is not None
        self.max_seconds = max_seconds
        self._buffer: list[AudioChunk] = []
        self._buffered_s = 0.0

    @property
    def in_speech(self) -> bool:
        if self.hands_free and self.segmenter is not None:
            return bool(self.segmenter.in_speech)
        return bool(self._buffer)

    async def feed(self, rate: int, samples: np.ndarray) -> list[Utterance]:
        chunk = from_array(rate, samples)
        if chunk.frames == 0:
            return []
        if self.hands_free and self.segmenter is not None:
            return await self.segmenter.feed_async(chunk)
        if self._buffered_s < self.max_seconds:  # push-to-talk: keep at most max_seconds
            self._buffer.append(chunk)
            self._buffered_s += chunk.duration_s
        return []

    async def stop(self) -> list[Utterance]:
        """The recording stopped: finish what was being said."""
        if self.hands_free and self.segmenter is not None:
            return await self.segmenter.flush_async()
        chunks, self._buffer, self._buffered_s = self._buffer, [], 0.0
        if not chunks:
            return []
        audio = np.concatenate([to_16k_mono(c).samples for c in chunks])
        turn_id = new_turn_id()
        end_ms = len(audio) / SAMPLE_RATE * 1000.0
        ended = now_ms()
        if self.sink is not None:  # releasing the button is the end of speech
            self.sink(TurnEvent(type="vad-end", turn_id=turn_id, t_ms=ended,
                                data=VadEnd(reason="push-to-talk", end_ms=end_ms)))
        return [Utterance(audio=AudioChunk(samples=audio, rate=SAMPLE_RATE), start_ms=0.0,
                          end_ms=end_ms, speech_ms=end_ms, turn_id=turn_id, end_t_ms=ended)]

    def reset(self) -> None:
        self._buffer, self._buffered_s = [], 0.0
        if self.segmenter is not None:
            self.segmenter.reset()


class AudioOut:
    """One turn's speech as WAV chunks at a single rate (the rate of the first chunk)."""

    def __init__(self) -> None:
        self.rate: int | None = None
        self._parts: list[np.ndarray] = []

    def wav(self, chunk: AudioChunk) -> bytes:
        if self.rate is None:
            self.rate = int(chunk.rate)
        if int(chunk.rate) != self.rate or chunk.channels != 1:
            chunk = convert(chunk, self.rate)
        samples = to_int16(chunk.samples)
        self._parts.append(samples)
        return wav_bytes(AudioChunk(samples=samples, rate=self.rate))

    @property
    def seconds(self) -> float:
        if not self.rate:
            return 0.0
        return sum(len(p) for p in self._parts) / self.rate

    def whole(self) -> tuple[int, np.ndarray] | None:
        """Everything spoken in the turn as (rate, int16 samples), for API clients."""
        if not self._parts or self.rate is None:
            return None
        return self.rate, np.concatenate(self._parts)


async def load_upload(path: str | Path, *, max_seconds: float, max_bytes: int,
                      segmenter: PushSegmenter | None) -> Utterance:
    """An uploaded recording as one utterance (the span the VAD heard as speech).

    Raises AudioError for an empty, corrupt, overlong or speechless file.
    """
    def decode() -> np.ndarray:  # file reading, ffmpeg and resampling: off the event loop
        return to_16k_mono(read_audio(path, max_seconds=max_seconds, max_bytes=max_bytes)).samples

    audio = await asyncio.to_thread(decode)
    if audio.size == 0 or not np.any(audio):
        raise AudioError("I didn't hear any speech in that recording.", code="audio.no_speech")
    start, end = 0, audio.size
    if segmenter is not None:
        found = await segmenter.feed_async(AudioChunk(samples=audio, rate=SAMPLE_RATE))
        found += await segmenter.flush_async()
        if not found:
            raise AudioError("I didn't hear any speech in that recording.", code="audio.no_speech")
        pad = int(PAD_S * SAMPLE_RATE)
        start = max(0, int(found[0].start_ms * SAMPLE_RATE / 1000) - pad)
        end = min(audio.size, int(found[-1].end_ms * SAMPLE_RATE / 1000) + pad)
    clip = np.ascontiguousarray(audio[start:end], dtype=np.float32)
    dur_ms = clip.size / SAMPLE_RATE * 1000.0
    return Utterance(audio=AudioChunk(samples=clip, rate=SAMPLE_RATE), start_ms=0.0,
                     end_ms=dur_ms, speech_ms=dur_ms, turn_id=new_turn_id())


def describe(value: Any) -> str:
    """A short description of an audio value for logs (never its samples)."""
    if isinstance(value, tuple) and len(value) == 2:
        rate, arr = value
        return f"{getattr(arr, 'shape', '?')} @ {rate} Hz"
    return type(value).__name__
