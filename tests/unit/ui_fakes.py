"""Fakes of the Assistant and Browser protocols for the web app's unit tests (no models)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from sayso.browser.base import BrowserState, TabInfo
from sayso.events import TurnEvent, new_turn_id
from sayso.types import AudioChunk, ToolCall, ToolResult, Transcript, Utterance


def tone(seconds: float = 0.3, rate: int = 22050) -> AudioChunk:
    t = np.arange(int(seconds * rate)) / rate
    return AudioChunk(samples=(0.2 * np.sin(2 * np.pi * 330 * t) * 32767).astype(np.int16), rate=rate)


class FakeBrowser:
    def __init__(self) -> None:
        self.url = "about:blank"
        self.closed = False

    async def execute(self, call: ToolCall) -> ToolResult:
        return ToolResult(tool=call.name, ok=True, message="done")

    async def state(self) -> BrowserState:
        return BrowserState(url=self.url, title="Page", tabs=(TabInfo(1, "Page", self.url, True),))

    async def screenshot(self) -> bytes | None:
        return b"\xff\xd8fake-jpeg"

    async def close(self) -> None:
        self.closed = True


class FakeAssistant:
    """Says back what it heard; ``slow`` makes it stream slowly so it can be cancelled."""

    def __init__(self, browser: FakeBrowser | None, *, slow: bool = False) -> None:
        self.browser = browser
        self.slow = slow
        self.history: list[str] = []
        self.cancelled = 0
        self.closed = False
        self.early: list[str | None] = []  # what speculate() was given
        self._stop = asyncio.Event()

    async def _turn(self, tid: str, text: str | None) -> AsyncIterator[TurnEvent]:
        self._stop.clear()
        yield TurnEvent("turn-start", tid)
        if text is None:
            text = "open the test page"
            yield TurnEvent("stt-end", tid, data={"text": text})
        self.history.append(text)
        yield TurnEvent("tool-start", tid, data={"tool": "navigate", "args": {"url": "http://127.0.0.1/x"}})
        if self.browser is not None:
            self.browser.url = f"http://127.0.0.1/{len(self.history)}"
        yield TurnEvent("tool-end", tid, data={"tool": "navigate", "ok": True, "message": "Opened."})
        yield TurnEvent("browser-state", tid, data={"url": getattr(self.browser, "url", ""),
                                                    "title": "Page", "tabs": []})
        for word in ("You said ", text, "."):
            if self.slow:
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=0.5)
                except TimeoutError:
                    pass
            if self._stop.is_set():
                yield TurnEvent("cancelled", tid)
                return
            yield TurnEvent("reply-text", tid, data={"delta": word})
        yield TurnEvent("tts-first-audio", tid)
        yield TurnEvent("audio", tid, data={"chunk": tone(rate=22050), "text": "You said it."})
        yield TurnEvent("audio", tid, data={"chunk": tone(rate=16000), "text": "Again."})
        yield TurnEvent("turn-end", tid)

    def text_turn(self, text: str) -> AsyncIterator[TurnEvent]:
        return self._turn(new_turn_id(), text)

    def voice_turn(self, utt: Utterance) -> AsyncIterator[TurnEvent]:
        return self._turn(utt.turn_id or new_turn_id(), None)

    def cancel(self) -> None:
        self.cancelled += 1
        self._stop.set()

    def speculate(self, transcript: Transcript | None) -> None:
        self.early.append(transcript.text if transcript is not None else None)

    async def close(self) -> None:
        self.closed = True
