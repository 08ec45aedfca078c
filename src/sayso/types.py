"""Frozen value types that flow between the stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

SAMPLE_RATE = 16_000  # what VAD and STT consume


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A block of audio. ``samples`` is (frames,) for mono or (frames, channels).

    dtype is float32 in [-1, 1] or int16. Every chunk carries its rate and channel count.
    """

    samples: np.ndarray
    rate: int
    channels: int = 1

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


@dataclass(frozen=True, slots=True)
class Utterance:
    """One stretch of speech, 16 kHz mono float32, cut by the VAD (or a whole file)."""

    audio: AudioChunk
    start_ms: float = 0.0  # position in the stream
    end_ms: float = 0.0
    speech_ms: float = 0.0  # how much of it the VAD judged to be speech
    turn_id: str = ""
    end_t_ms: float = 0.0  # when the end of speech was detected, on the events' clock (0: unknown)
    # set by the segmenter when a speculative transcript of exactly this audio is ready:
    # use it instead of transcribing again
    transcript: Transcript | None = None
    # words the user may be saying now (the page vocabulary's prompt, when stt_vocab_prompt is
    # on): a backend that takes a prompt (Whisper's initial_prompt) uses it, others ignore it
    prompt: str = ""


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start_s: float
    end_s: float
    probability: float = 1.0


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    words: tuple[Word, ...] = ()
    language: str = "en"
    no_speech_prob: float | None = 0.0  # None: the backend gave no confidence (a Wyoming peer)
    avg_logprob: float | None = 0.0
    audio_s: float = 0.0
    elapsed_ms: float = 0.0

    @property
    def empty(self) -> bool:
        return not self.text.strip()


Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one tool call. Failures are data: ``ok=False`` and a sentence."""

    tool: str
    ok: bool
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)
    error_code: str = ""
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str = ""


@dataclass(frozen=True, slots=True)
class LlmChunk:
    """One piece of a streamed LLM reply: a text delta (the last one: done, finish reason, usage).
    Tool calls come as JSON text that follows the decision schema, never as native tool calls."""

    text: str = ""
    done: bool = False
    finish_reason: str = ""
    usage: Mapping[str, Any] = field(default_factory=dict)
