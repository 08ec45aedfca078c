"""The text-to-speech stage: its interface (``Tts``) and the base of the in-process voices
(``LocalTts``: a backend writes ``_chunks``, a blocking generator; the base runs it in a worker
thread for ``synthesize``, and whole for ``synthesize_sync``)."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Protocol, runtime_checkable

from sayso.tts.stream import iterate_in_thread
from sayso.types import AudioChunk


@runtime_checkable
class Tts(Protocol):
    """Speaks text. Yields int16 mono chunks at ``sample_rate`` (one per sentence or smaller)."""

    name: str
    sample_rate: int

    def synthesize(self, text: str) -> AsyncIterator[AudioChunk]: ...

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...


class LocalTts(abc.ABC):
    """An in-process voice: implement ``_chunks`` (blocking, one chunk per sentence or smaller)."""

    name = "tts"
    sample_rate = 22050

    @abc.abstractmethod
    def _chunks(self, text: str) -> Iterator[AudioChunk]:
        """Speak ``text`` (not blank), blocking; raises TtsError/ConfigError with one sentence."""

    def synthesize_sync(self, text: str) -> list[AudioChunk]:
        """All chunks, in the calling thread (for the CLI and scripts)."""
        return list(self._chunks(text)) if text.strip() else []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        if not text.strip():
            return
        async for chunk in iterate_in_thread(lambda: self._chunks(text)):
            yield chunk

    async def warmup(self) -> None:
        """Speak one word, so the first reply pays no load or first-run cost."""
        await asyncio.to_thread(self.synthesize_sync, "Ready.")

    async def close(self) -> None:
        """Nothing to release by default."""
        return None
