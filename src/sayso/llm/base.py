"""The LLM stage's interface."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from sayso.types import ChatMessage, LlmChunk, ToolSpec


@runtime_checkable
class Llm(Protocol):
    """Streams a reply: text deltas and/or complete tool calls, then a chunk with done=True.

    ``response_format`` is an optional JSON schema the reply must follow (constrained decoding
    where the backend supports it). Cancelling the iterator stops generation.
    """

    name: str

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[LlmChunk]: ...

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...
