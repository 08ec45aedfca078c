"""Speaking a reply while it is still being written: text deltas in, sentence audio out.

The turn pushes reply text as it streams; ``sayso.tts.stream.speak_stream`` splits it into
its first clause (``tts_first_clause_words``), then sentences and synthesises each one (made speakable) while the LLM keeps writing. Each chunk
becomes an ``audio`` event ({chunk, text}); the first one is preceded by ``tts-first-audio``. A TTS failure is reported once as an ``error`` event
and the reply stays on screen: speaking is never what breaks a turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from sayso.errors import SaysoError
from sayso.tts.base import Tts
from sayso.tts.sentences import FIRST_CLAUSE_WORDS
from sayso.tts.stream import speak_stream

log = logging.getLogger(__name__)

Emit = Callable[..., None]


class Speaker:
    """Synthesises pushed text sentence by sentence in a background task."""

    def __init__(self, tts: Tts, emit: Emit, *, first_clause_words: int = FIRST_CLAUSE_WORDS) -> None:
        self.tts = tts
        self.first_clause_words = first_clause_words
        self.emit = emit
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._first = True
        self._ended = False  # the end of the text was taken from the queue

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sayso-speaker")

    def push(self, delta: str) -> None:
        if delta:
            self._queue.put_nowait(delta)

    async def finish(self) -> None:
        """No more text: speak what is left and wait until it is synthesised."""
        self._queue.put_nowait(None)
        if self._task is not None:
            await self._task

    async def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({self._task})

    async def _deltas(self) -> AsyncIterator[str]:
        while (delta := await self._queue.get()) is not None:
            yield delta
        self._ended = True

    async def _run(self) -> None:
        try:
            async for sentence, chunk in speak_stream(self.tts, self._deltas(),
                                                      first_clause_words=self.first_clause_words):
                if self._first:
                    self._first = False
                    self.emit("tts-first-audio", text=sentence)
                self.emit("audio", chunk=chunk, text=sentence)
        except Exception as exc:  # SaysoError or a crash inside the voice: the text still shows
            if isinstance(exc, SaysoError):
                log.warning("speech failed: %s", exc.one_line())
                code, message = exc.code, exc.message
            else:
                log.warning("speech failed: %s: %s", type(exc).__name__, exc)
                code, message = "tts.failed", "I couldn't speak that reply; the text is on screen."
            self.emit("error", code=code, message=message)
            while not self._ended and await self._queue.get() is not None:  # drain: the text still shows
                pass
