"""An LLM that is still loading: usable at once, answering once the model is warm.

The web app starts its LLM (load, then the decision prompt's warm-up: most of a cold start) in
the background, so the page answers and the fast path runs while it loads. Turns that need
the LLM before then simply wait for it inside ``chat``; if loading fails, ``chat`` raises the
LlmError the turn already handles (one sentence, the fast path still works).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from typing import Any

from sayso.errors import LlmError, SaysoError
from sayso.llm.base import Llm
from sayso.types import ChatMessage, LlmChunk

log = logging.getLogger(__name__)


class WarmingLlm:
    """Implements the ``Llm`` protocol over a model being built by ``loader`` in a task."""

    def __init__(self, loader: Awaitable[Llm], *, label: str = "language model") -> None:
        self.label = label
        self.started = time.monotonic()
        self.ready_after_s: float | None = None
        self._task: asyncio.Task[Llm] = asyncio.ensure_future(loader)
        self._task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Llm]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        self.ready_after_s = time.monotonic() - self.started
        log.info("%s warm after %.1f s in the background", self.label, self.ready_after_s)

    @property
    def name(self) -> str:
        inner = self.inner
        return inner.name if inner is not None else "loading"

    @property
    def loading(self) -> bool:
        return not self._task.done()

    @property
    def inner(self) -> Llm | None:
        """The loaded model, or None while loading (or when it failed)."""
        if self._task.done() and not self._task.cancelled() and self._task.exception() is None:
            return self._task.result()
        return None

    @property
    def problem(self) -> str:
        """One sentence when loading failed, else ""."""
        if not self._task.done() or self._task.cancelled():
            return ""
        exc = self._task.exception()
        if exc is None:
            return ""
        return exc.one_line() if isinstance(exc, SaysoError) else f"{type(exc).__name__} while loading it"

    async def wait(self) -> Llm:
        """The model once warm; LlmError if loading failed."""
        try:
            return await asyncio.shield(self._task)
        except SaysoError as exc:
            if isinstance(exc, LlmError):
                raise
            raise LlmError(exc.one_line()) from exc
        except asyncio.CancelledError:
            if self._task.cancelled():
                raise LlmError("The language model stopped loading.") from None
            raise
        except Exception as exc:
            raise LlmError(f"The language model failed to load ({type(exc).__name__}).") from exc

    async def chat(self, messages: Sequence[ChatMessage], *,
                   response_format: Mapping[str, Any] | None = None,
                   max_tokens: int | None = None) -> AsyncIterator[LlmChunk]:
        llm = await self.wait()
        async for chunk in llm.chat(messages, response_format=response_format,
                                    max_tokens=max_tokens):
            yield chunk

    async def warmup(self) -> None:
        await self.wait()

    async def close(self) -> None:
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            return
        inner = self.inner
        if inner is not None:
            await inner.close()

    def __getattr__(self, attr: str) -> Any:
        """Anything else (model facts for logs and the bench) from the loaded model."""
        if attr.startswith("_"):
            raise AttributeError(attr)
        inner = self.inner
        if inner is None:
            raise AttributeError(attr)
        return getattr(inner, attr)
