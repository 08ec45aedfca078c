"""The text-to-speech stage's interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from sayso.types import AudioChunk


@runtime_checkable
class Tts(Protocol):
    """Speaks text. Yields int16 mono chunks at ``sample_rate`` (one per sentence or smaller)."""

    name: str
    sample_rate: int

    def synthesize(self, text: str) -> AsyncIterator[AudioChunk]: ...

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...
