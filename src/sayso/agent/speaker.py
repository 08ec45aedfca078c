"""Speaking a reply while it is still being written: text deltas in, sentence audio out.

The turn pushes reply text as it streams; complete sentences are synthesised one after another
while the LLM keeps writing. Each chunk becomes an ``audio`` event ({chunk, text}); the first
one is preceded by ``tts-first-audio``. A TTS failure is reported once as an ``error`` event
and the reply stays on screen: speaking is never what breaks a turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sayso.errors import SaysoError
from sayso.tts.base import Tts

log = logging.getLogger(__name__)

Emit = Callable[..., None]


def _splitter() -> Any:
    try:
        from sayso.tts.sentences import SentenceSplitter
    except ImportError:  # the speech stage is older than the agent: speak the whole reply at once
        return _WholeText()
    return SentenceSplitter()


class _WholeText:
    def __init__(self) -> None:
        self._buf = ""

    def push(self, delta: str) -> list[str]:
        self._buf += delta
        return []

    def flush(self) -> list[str]:
        out, self._buf = [self._buf] if self._buf.strip() else [], ""
        return out


def _speakable(text: str) -> str:
    try:
        from sayso.tts.speakable import speakable
    except ImportError:
        return text
    return speakable(text)


class Speaker:
    """Synthesises pushed text sentence by sentence in a background task."""

    def __init__(self, tts: Tts, emit: Emit) -> None:
        self.tts = tts
        self.emit = emit
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._first = True
        self._failed = False

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

    async def _run(self) -> None:
        splitter = _splitter()
        while True:
            delta = await self._queue.get()
            sentences = splitter.flush() if delta is None else splitter.push(delta)
            for sentence in sentences:
                await self._speak(sentence)
            if delta is None:
                return

    async def _speak(self, sentence: str) -> None:
        if self._failed:
            return
        text = _speakable(sentence).strip()
        if not text:
            return
        try:
            async for chunk in self.tts.synthesize(text):
                if self._first:
                    self._first = False
                    self.emit("tts-first-audio", text=sentence)
                self.emit("audio", chunk=chunk, text=sentence)
        except SaysoError as exc:
            self._failed = True
            log.warning("speech failed: %s", exc.one_line())
            self.emit("error", code=exc.code, message=exc.message)
