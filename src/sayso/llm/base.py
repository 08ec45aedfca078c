"""The LLM stage: its interface (``Llm``) and the base every backend builds on (``BaseLlm``).

``BaseLlm.chat`` holds the policy shared by all backends, so a backend implements only
``_chat_impl`` (and ``_load_impl`` if it loads something):

- **first-chunk timeout**: ``llm_timeout_s`` plus ``prompt_allowance_s`` (a local model reads
  the whole prompt before its first token; a server backend adds nothing);
- **between-chunk timeout**: ``llm_timeout_s`` for every later chunk;
- **whole-reply timeout**: ``llm_timeout_s`` plus the first-chunk allowance plus the reply's
  token budget at ``MIN_TOKENS_PER_S`` (a model that trickles forever still ends);
- **error mapping**: every failure leaves as an ``LlmError`` with a stable code
  (``llm.timeout`` for the three timeouts, the backend's ``map_error`` for its own exceptions,
  ``llm.failed`` otherwise; a ``SaysoError`` the backend raised, e.g. a missing model's
  ``ConfigError``, passes unchanged);
- **timing**: time to the first chunk and to the end, logged per reply.

Cancelling (closing) the iterator closes the backend's ``_chat_impl`` generator, which stops
generation there.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from sayso.config import Settings
from sayso.errors import LlmError, SaysoError
from sayso.types import ChatMessage, LlmChunk

log = logging.getLogger(__name__)

Schema = Mapping[str, Any]
"""A JSON schema the reply must follow (``response_format``)."""

MIN_TOKENS_PER_S = 2.0
"""The slowest decoding the whole-reply timeout allows for (a contended 2-core CPU does ~18)."""


@runtime_checkable
class Llm(Protocol):
    """Streams a reply: text deltas, then a chunk with done=True.

    ``response_format`` is an optional JSON schema the reply must follow (constrained decoding
    where the backend supports it). Cancelling the iterator stops generation.
    """

    name: str

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[LlmChunk]: ...

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...


class BaseLlm(abc.ABC):
    """The shared policy of every LLM backend; subclasses implement ``_chat_impl``."""

    name = "llm"

    def __init__(self, *, settings: Settings) -> None:
        self.settings = settings

    # what a backend implements ------------------------------------------------------------
    @abc.abstractmethod
    def _chat_impl(self, messages: Sequence[ChatMessage], *, response_format: Schema | None,
                   max_tokens: int) -> AsyncIterator[LlmChunk]:
        """The backend's raw stream, ending with a ``done`` chunk; no timeouts of its own."""

    async def _load_impl(self) -> None:
        """Load what the backend needs before its first reply (nothing by default)."""
        return None

    def prompt_allowance_s(self, messages: Sequence[ChatMessage]) -> float:
        """Extra seconds the first chunk may take for reading the prompt (0 for servers)."""
        return 0.0

    def map_error(self, exc: Exception) -> LlmError:
        """The ``LlmError`` for an exception the backend raised (override for its own kinds)."""
        return LlmError(f"The language model failed: {exc}.", code="llm.failed")

    @staticmethod
    def _timeout(limit: float, *, started: bool, whole: bool, budget_s: float) -> LlmError:
        if whole:
            msg = f"The language model did not finish its reply within {budget_s:.0f} s."
        elif started:
            msg = f"The language model did not answer within {limit:g} s (it stopped in the middle of a reply)."
        else:
            msg = f"The language model did not answer within {limit:g} s."
        return LlmError(msg, code="llm.timeout")

    # the public stage ---------------------------------------------------------------------
    async def warmup(self) -> None:
        """Load the model and run one token, so the first turn pays neither."""
        await self._load_impl()
        async for _ in self.chat([ChatMessage(role="user", content="Hi")], max_tokens=1):
            pass

    async def close(self) -> None:
        """Release the backend's resources (nothing by default)."""
        return None

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[LlmChunk]:
        limit = self.settings.llm_timeout_s
        budget = max_tokens or self.settings.llm_max_tokens
        first = limit + self.prompt_allowance_s(messages)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        deadline = t0 + first + budget / MIN_TOKENS_PER_S
        wait, t_first = first, None
        stream = self._chat_impl(messages, response_format=response_format, max_tokens=budget)
        try:
            while True:
                try:
                    async with asyncio.timeout(min(wait, deadline - loop.time())):
                        chunk = await anext(stream)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise self._timeout(limit, started=t_first is not None,
                                        whole=loop.time() >= deadline, budget_s=deadline - t0) from None
                except SaysoError:  # already one sentence with a stable code (a missing model: config)
                    raise
                except Exception as exc:  # a stage boundary: the backend's own failure, one code
                    raise self.map_error(exc) from exc
                if t_first is None:
                    t_first = loop.time()
                wait = limit
                yield chunk
        finally:
            await stream.aclose()  # cancelled or closed: the backend stops generating
            if t_first is not None:
                log.debug("%s reply: first chunk %.0f ms, all %.0f ms", self.name,
                          (t_first - t0) * 1000, (loop.time() - t0) * 1000)
