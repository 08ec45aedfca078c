"""A fake of the Assistant for the web app's unit tests (no models); the browser: tests/fakes.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from sayso.browser.base import BrowserState
from sayso.events import ActionRecord, Cancelled, TurnEvent, TurnSummary, event, new_turn_id
from sayso.types import AudioChunk, Transcript, Utterance
from tests.fakes import FakeBrowser


def tone(seconds: float = 0.3, rate: int = 22050) -> AudioChunk:
    t = np.arange(int(seconds * rate)) / rate
    return AudioChunk(samples=(0.2 * np.sin(2 * np.pi * 330 * t) * 32767).astype(np.int16), rate=rate)


class FakeAssistant:
    """Says back what it heard; ``slow`` makes its first turn stop before the reply until it is
    cancelled (``speaking`` is set when it got there), so tests wait on events, not the clock."""

    def __init__(self, browser: FakeBrowser | None, *, slow: bool = False) -> None:
        self.browser = browser
        self.slow = slow
        self.history: list[str] = []
        self.cancelled = 0
        self.closed = False
        self.early: list[str | None] = []  # what speculate() was given
        self._stop = asyncio.Event()
        self.speaking = asyncio.Event()  # a slow turn is waiting, mid-reply, to be cancelled

    async def _turn(self, tid: str, text: str | None) -> AsyncIterator[TurnEvent]:
        self._stop.clear()
        source = "text" if text is not None else "voice"
        yield event("turn-start", tid, source=source, text=text or "")
        if text is None:
            text = "open the test page"
            yield event("stt-end", tid, text=text)
        self.history.append(text)
        args = {"url": "http://127.0.0.1/x"}
        yield event("tool-start", tid, tool="navigate", args=args)
        if self.browser is not None:
            self.browser.url = f"http://127.0.0.1/{len(self.history)}"
        yield event("tool-end", tid, tool="navigate", ok=True, message="Opened.")
        url = getattr(self.browser, "url", "")
        yield event("browser-state", tid, url=url, title="Page", tabs=[])
        done = dict(transcript=text, actions=(ActionRecord("navigate", args, True, None, "Opened."),),
                    browser=BrowserState(url=url, title="Page"), source=source)
        reply = ""
        for word in ("You said ", text, "."):
            if self.slow and len(self.history) == 1:
                self.speaking.set()
                await self._stop.wait()
            if self._stop.is_set():
                yield TurnEvent("cancelled", tid, data=Cancelled(reply=reply, **done))  # type: ignore[arg-type]
                return
            reply += word
            yield event("reply-text", tid, delta=word)
        yield event("tts-first-audio", tid)
        yield event("audio", tid, chunk=tone(rate=22050), text="You said it.")
        yield event("audio", tid, chunk=tone(rate=16000), text="Again.")
        yield TurnEvent("turn-end", tid, data=TurnSummary(reply=reply, timings_ms={"total": 5.0},  # type: ignore[arg-type]
                                                          **done))

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
