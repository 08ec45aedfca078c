"""Thinking early: the LLM starts on the words heard so far, during the user's trailing silence.

When the segmenter has the transcript of every word said (the user has been silent ~150 ms),
the assistant asks the LLM the turn's first question right away (:class:`EarlyStart`), while
the segmenter is still making sure the user has finished. The run is *buffered*: nothing it
writes is shown, spoken, executed or remembered. When the turn's final transcript arrives:

* it matches: the turn runs as usual, with an LLM (:class:`PrefetchedLlm`) whose first
  request, being exactly the early one, is answered from the buffer and then live; the turn
  itself then streams the answer, validates and executes the tool call, and writes history,
  so a confirmed early run is indistinguishable from a late one, only sooner;
* it differs (speech resumed, the words changed, the page changed under it): the early run is
  cancelled; it leaves no event, no history and no browser action behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sayso.llm.base import Llm
from sayso.types import ChatMessage, LlmChunk

log = logging.getLogger(__name__)


def _request(messages: Sequence[ChatMessage], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    """A comparable key of one chat request (the protocol's defaults filled in)."""
    return (tuple(messages), kwargs.get("response_format"), kwargs.get("max_tokens"))


class EarlyStart:
    """One LLM request started ahead of its turn; its chunks are kept until the turn takes them."""

    def __init__(self, llm: Llm, text: str, messages: Sequence[ChatMessage],
                 kwargs: Mapping[str, Any]) -> None:
        self.text = text
        self._key = _request(messages, kwargs)
        self._chunks: list[LlmChunk] = []
        self._done = False
        self._error: BaseException | None = None
        self._changed = asyncio.Event()
        self.taken = False
        self._task = asyncio.create_task(self._pump(llm, list(messages), dict(kwargs)),
                                         name="sayso-early-llm")

    async def _pump(self, llm: Llm, messages: list[ChatMessage], kwargs: dict[str, Any]) -> None:
        try:
            async for chunk in llm.chat(messages, **kwargs):
                self._chunks.append(chunk)
                self._changed.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to the turn, which reports LLM failures itself
            self._error = exc
        finally:
            self._done = True
            self._changed.set()

    @property
    def cancelled(self) -> bool:
        return self._task.cancelled()

    def matches(self, messages: Sequence[ChatMessage], kwargs: Mapping[str, Any]) -> bool:
        return not self.taken and not self._task.cancelled() and _request(messages, kwargs) == self._key

    def cancel(self) -> None:
        """Drop the run: the LLM stops at its next token; nothing it wrote is used."""
        if not self._task.done():
            self._task.cancel()

    async def stream(self) -> AsyncIterator[LlmChunk]:
        """The buffered chunks, then the live ones, as the LLM's own stream would give them."""
        self.taken = True
        i = 0
        try:
            while True:
                while i < len(self._chunks):
                    yield self._chunks[i]
                    i += 1
                if self._done:
                    if self._error is not None:
                        raise self._error
                    return
                self._changed.clear()
                if i == len(self._chunks) and not self._done:
                    await self._changed.wait()
        finally:
            self.cancel()  # closed early (barge-in, a cut turn): stop generating


class PrefetchedLlm:
    """The assistant's LLM for one turn, answering a request equal to ``early``'s from it."""

    def __init__(self, llm: Llm, early: EarlyStart) -> None:
        self._llm = llm
        self._early: EarlyStart | None = early
        self.name = llm.name

    def chat(self, messages: Sequence[ChatMessage], *,
             response_format: Mapping[str, Any] | None = None,
             max_tokens: int | None = None) -> AsyncIterator[LlmChunk]:
        kwargs: dict[str, Any] = {"response_format": response_format, "max_tokens": max_tokens}
        early, self._early = self._early, None  # only the turn's first request can match
        if early is not None:
            if early.matches(messages, kwargs):
                log.debug("the early LLM run is used (%d chunks ready)", len(early._chunks))
                return early.stream()
            log.debug("the early LLM run does not match the turn's request; dropped")
            early.cancel()
        return self._llm.chat(messages, **kwargs)

    async def warmup(self) -> None:
        await self._llm.warmup()

    async def close(self) -> None:  # the shared model is not this turn's to close
        return None
