"""The OpenAI chat-completions shape, shared by the embedded and the OpenAI-compatible backends.

llama.cpp's server (in-process through xllamacpp, or remote as llama-server), vLLM and LM
Studio all speak it: request dicts go out, streamed ``chat.completion.chunk`` dicts come back.
This module turns our types into the request and the chunks back into ``LlmChunk``s: text deltas
as they arrive, then one final chunk with ``done=True``, the finish reason and the usage/timings.
No native tool calls: the agent's decision is JSON text constrained by a schema.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sayso.errors import LlmError
from sayso.llm import grammar
from sayso.types import ChatMessage, LlmChunk

log = logging.getLogger(__name__)


def message_dict(msg: ChatMessage) -> dict[str, Any]:
    return {"role": msg.role, "content": msg.content}


def build_request(
    messages: Sequence[ChatMessage],
    *,
    response_format: Mapping[str, Any] | None = None,
    max_tokens: int,
    model: str = "",
    grammars: bool = False,
) -> dict[str, Any]:
    """A streaming chat-completions request. Output is greedy when a schema constrains it.

    ``grammars``: the server takes llama.cpp's ``grammar`` (llguidance), so a format that allows
    plain text (``sayso.llm.grammar.OR_TEXT``) is sent as a grammar; otherwise as its JSON schema.
    """
    req: dict[str, Any] = {
        "messages": [message_dict(m) for m in messages],
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": 0.0 if response_format is not None else 0.2,
        "stream_options": {"include_usage": True},
    }
    if model:
        req["model"] = model
    if grammars and (text_or_json := grammar.or_text_grammar(response_format)) is not None:
        req["grammar"] = text_or_json
    elif (schema := grammar.json_schema(response_format)) is not None:
        req["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": schema, "strict": True},
        }
    return req


class ChunkAssembler:
    """Feeds streamed chunk dicts, returns the ``LlmChunk``s to emit for each."""

    def __init__(self) -> None:
        self.finish_reason = ""
        self.usage: dict[str, Any] = {}
        self.done = False

    def feed(self, data: Mapping[str, Any]) -> list[LlmChunk]:
        if "error" in data:
            err = data["error"]
            msg = err.get("message", str(err)) if isinstance(err, Mapping) else str(err)
            raise LlmError(f"The language model failed: {msg}.", code="llm.failed")
        out: list[LlmChunk] = []
        if data.get("usage"):
            self.usage.update(data["usage"])
        if data.get("timings"):
            self.usage["timings"] = data["timings"]
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or choice.get("message") or {}
            text = delta.get("content") or ""
            if text:
                out.append(LlmChunk(text=text))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return out

    def finish(self) -> LlmChunk:
        """The last chunk: finish reason, usage."""
        self.done = True
        return LlmChunk(done=True, finish_reason=self.finish_reason or "stop", usage=dict(self.usage))
