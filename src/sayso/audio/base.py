"""The VAD/segmenter stage's interface."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Protocol, runtime_checkable

from sayso.types import AudioChunk, Utterance


@runtime_checkable
class Vad(Protocol):
    """Streaming endpointing: audio chunks (any rate) in, Utterances (16 kHz mono) out."""

    def segment(self, audio: AsyncIterable[AudioChunk]) -> AsyncIterator[Utterance]: ...
