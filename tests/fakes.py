"""Fakes of the stage Protocols (LLM, STT, TTS, Browser) for the unit tests: no models, no browser."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import numpy as np

from sayso.browser.base import Browser, BrowserState, TabInfo
from sayso.types import (
    AudioChunk,
    ChatMessage,
    LlmChunk,
    ToolCall,
    ToolResult,
    Transcript,
    Utterance,
)


class FakeBrowser:
    """The Browser protocol: records calls, fails the tools named in ``fail``, keeps a URL.

    ``navigate`` moves to ``https://{url}/``; ``read_page`` and ``summarize_page`` return
    ``page_text`` (``read_page`` says it, as the real browser does).
    """

    def __init__(self, *, fail: set[str] | None = None, page_text: str = "",
                 url: str = "http://127.0.0.1:1/") -> None:
        self.executed: list[ToolCall] = []
        self.fail = fail or set()
        self.page_text = page_text
        self.url = url
        self.closed = False

    async def execute(self, call: ToolCall) -> ToolResult:
        self.executed.append(call)
        if call.name in self.fail:
            return ToolResult(tool=call.name, ok=False, message=f"I could not {call.name}.", error_code="x.fail")
        if call.name == "navigate":
            self.url = f"https://{call.args['url']}/"
        if call.name in ("summarize_page", "read_page"):
            message = self.page_text if call.name == "read_page" else "Here is the text."
            return ToolResult(tool=call.name, ok=True, message=message, data={"text": self.page_text})
        return ToolResult(tool=call.name, ok=True, message=f"Did {call.name}.")

    async def state(self) -> BrowserState:
        return BrowserState(url=self.url, title="Page", tabs=(TabInfo(1, "Page", self.url, True),))

    async def screenshot(self) -> bytes | None:
        return b"\xff\xd8fake-jpeg"

    async def close(self) -> None:
        self.closed = True


assert isinstance(FakeBrowser(), Browser)


class FakeLlm:
    """Replies from a script: each chat() call takes the next reply (a JSON string or plain text)."""

    name = "fake"

    def __init__(self, *replies: str, delay: float = 0.0) -> None:
        self.replies = list(replies)
        self.delay = delay
        self.calls: list[list[ChatMessage]] = []
        self.closed_streams = 0

    async def chat(self, messages: Sequence[ChatMessage], *,
                   response_format: Mapping[str, Any] | None = None,
                   max_tokens: int | None = None) -> AsyncIterator[LlmChunk]:
        self.calls.append(list(messages))
        reply = self.replies.pop(0) if self.replies else '{"tool": "answer", "args": {"text": "Okay."}}'
        try:
            for i in range(0, len(reply), 4):  # a few characters a chunk, as tokens come
                await asyncio.sleep(self.delay)  # 0: still yields to the loop, as a real stream does
                yield LlmChunk(text=reply[i:i + 4])
            yield LlmChunk(done=True, finish_reason="stop", usage={"prompt_tokens": 10, "completion_tokens": 5})
        finally:
            self.closed_streams += 1

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...


class FakeTts:
    name = "fake-tts"
    sample_rate = 22050

    def __init__(self) -> None:
        self.spoken: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.spoken.append(text)
        yield AudioChunk(samples=np.zeros(2205, dtype=np.int16), rate=self.sample_rate)

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...


class FakeStt:
    name = "fake-stt"

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript

    async def transcribe(self, utt: Utterance) -> Transcript:
        return self.transcript

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------- virtual time
class _VirtualSelector(selectors.DefaultSelector):
    """Never blocks: when nothing is ready, moves the loop's clock to the next timer instead."""

    loop: VirtualTimeLoop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if not events and timeout:
            self.loop.now += timeout
        elif not events and timeout is None:
            raise RuntimeError("deadlock: nothing is ready and no timer is set")
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps over waits: ``asyncio.timeout(30)`` ends at once, in
    order with every other timer. ``asyncio.Runner(loop_factory=VirtualTimeLoop)``."""

    def __init__(self) -> None:
        selector = _VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        self.now = 0.0

    def time(self) -> float:
        return self.now

