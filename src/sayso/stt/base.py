"""The speech-to-text stage's interface, and the policy every local backend shares.

Each backend turns 16 kHz mono float32 into text; what happens around that is the same for all
of them and lives here: :func:`admit` converts the audio and refuses audio over
``stt_max_audio_s`` (before resampling it), :func:`silence` is the transcript of audio in which
the VAD heard too little speech (the model is not run: models invent text on silence), and
:func:`finish` drops known hallucinations and builds the :class:`Transcript`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import numpy as np

from sayso.audio.convert import to_16k_mono
from sayso.config import Settings
from sayso.errors import AudioError
from sayso.stt import filters
from sayso.types import SAMPLE_RATE, AudioChunk, Transcript, Utterance, Word


@runtime_checkable
class Stt(Protocol):
    """Turns one utterance (16 kHz mono float32) into text. Blocking work runs in a thread."""

    name: str

    async def transcribe(self, utt: Utterance) -> Transcript: ...

    async def warmup(self) -> None:
        """Load the model (and run one tiny inference) so the first turn is not slow."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Admitted:
    """Audio accepted for transcription: 16 kHz mono float32, and what the VAD heard in it."""

    audio: np.ndarray
    duration_s: float
    speech_ms: float
    t0: float  # perf_counter when the request came in

    @property
    def has_speech(self) -> bool:
        return self.speech_ms > 0

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000


def to_stt_audio(chunk: AudioChunk) -> np.ndarray:
    """16 kHz mono float32 in [-1, 1] (a no-op for audio already in that form)."""
    arr = np.asarray(chunk.samples)
    if chunk.rate == SAMPLE_RATE and chunk.channels == 1 and arr.ndim == 1 and arr.dtype == np.float32:
        return np.clip(np.nan_to_num(arr), -1.0, 1.0)
    return to_16k_mono(chunk).samples


def replace_audio(utt: Utterance, audio: np.ndarray) -> Utterance:
    return replace(utt, audio=AudioChunk(samples=audio, rate=SAMPLE_RATE, channels=1))


def admit(utt: Utterance, settings: Settings) -> Admitted:
    """Convert and check ``utt``; ``speech_ms`` is 0 when the VAD heard too little speech.

    Raises AudioError (one clear sentence) for audio that is too long or in an unusable form.
    """
    t0 = time.perf_counter()
    chunk = utt.audio
    limit = float(settings.stt_max_audio_s)
    if chunk.rate > 0 and chunk.duration_s > limit:  # before resampling an hour of audio
        raise AudioError(f"The audio is {chunk.duration_s:.0f} s long; the limit is {limit:.0f} s.",
                         code="audio.too_long")
    audio = to_stt_audio(chunk)
    duration = audio.shape[0] / SAMPLE_RATE
    if duration > limit:
        raise AudioError(f"The audio is {duration:.0f} s long; the limit is {limit:.0f} s.",
                         code="audio.too_long")
    speech = filters.speech_ms_of(replace_audio(utt, audio), threshold=settings.vad_threshold)
    if not filters.has_speech(speech, min_speech_ms=settings.vad_min_speech_ms):
        speech = 0.0
    return Admitted(audio=audio, duration_s=duration, speech_ms=speech, t0=t0)


def pieces(audio: np.ndarray, *, max_s: float) -> list[tuple[float, np.ndarray]]:
    """``audio`` as (offset s, piece) no longer than ``max_s``, cut at pauses by the segmenter.

    For models whose window is short (Whisper's 30 s, Moonshine's training clips): a long file
    given to ``sayso transcribe`` is decoded piece by piece.
    """
    if audio.size <= max_s * SAMPLE_RATE:
        return [(0.0, audio)]
    from sayso.audio.segmenter import Segmenter, SegmenterConfig

    seg = Segmenter(config=SegmenterConfig(max_utterance_s=max_s, silence_ms=300))
    utts = seg.feed(AudioChunk(samples=audio, rate=SAMPLE_RATE)) + seg.flush()
    return [(u.start_ms / 1000.0, np.asarray(u.audio.samples, np.float32)) for u in utts]


def silence(admitted: Admitted, *, language: str = "en") -> Transcript:
    """The transcript of audio without (enough) speech: empty, certainly no speech."""
    return Transcript(text="", language=language, no_speech_prob=1.0, audio_s=admitted.duration_s,
                      elapsed_ms=admitted.elapsed_ms())


def finish(admitted: Admitted, text: str, *, words: tuple[Word, ...] = (), language: str = "en",
           no_speech_prob: float = 0.0, avg_logprob: float = 0.0) -> Transcript:
    """The transcript, with a likely hallucination dropped (see :mod:`sayso.stt.filters`)."""
    text = text.strip()
    if filters.is_hallucination(text, speech_ms=admitted.speech_ms, no_speech_prob=no_speech_prob):
        text, words = "", ()
    return Transcript(text=text, words=words, language=language, no_speech_prob=float(no_speech_prob),
                      avg_logprob=float(avg_logprob), audio_s=admitted.duration_s,
                      elapsed_ms=admitted.elapsed_ms())
