"""The OpenAI chat-completions shape, shared by the embedded and the OpenAI-compatible backends.

llama.cpp's server (in-process through xllamacpp, or remote as llama-server), vLLM and LM
Studio all speak it: request dicts go out, streamed ``chat.completion.chunk`` dicts come back.
This module turns our types into the request and the chunks back into ``LlmChunk``s: text deltas
as they arrive, tool calls whole (their argument fragments are joined first), then one final
chunk with ``done=True``, the finish reason and the usage/timings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sayso.errors import LlmError
from sayso.types import ChatMessage, LlmChunk, ToolCall, ToolSpec

log = logging.getLogger(__name__)


def message_dict(msg: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": msg.role, "content": msg.content}
    if msg.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id or f"call_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(dict(call.args))},
            }
            for i, call in enumerate(msg.tool_calls)
        ]
    if msg.role == "tool":
        out["tool_call_id"] = msg.tool_call_id
        if msg.name:
            out["name"] = msg.name
    return out


def tool_dict(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description, "parameters": dict(spec.parameters)},
    }


def build_request(
    messages: Sequence[ChatMessage],
    *,
    tools: Sequence[ToolSpec] = (),
    response_format: Mapping[str, Any] | None = None,
    max_tokens: int,
    model: str = "",
) -> dict[str, Any]:
    """A streaming chat-completions request. Output is greedy when a schema constrains it."""
    req: dict[str, Any] = {
        "messages": [message_dict(m) for m in messages],
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": 0.0 if response_format is not None else 0.2,
        "stream_options": {"include_usage": True},
    }
    if model:
        req["model"] = model
    if tools:
        req["tools"] = [tool_dict(t) for t in tools]
    if response_format is not None:
        req["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": dict(response_format), "strict": True},
        }
    return req


class ChunkAssembler:
    """Feeds streamed chunk dicts, returns the ``LlmChunk``s to emit for each."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}
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
            for frag in delta.get("tool_calls") or ():
                slot = self._calls.setdefault(int(frag.get("index", len(self._calls))), {"args": ""})
                if frag.get("id"):
                    slot["id"] = frag["id"]
                fn = frag.get("function") or {}
                if fn.get("name"):
                    slot["name"] = fn["name"]
                args = fn.get("arguments")
                if isinstance(args, str):
                    slot["args"] += args
                elif isinstance(args, Mapping):
                    slot["args"] = json.dumps(args)
            if text:
                out.append(LlmChunk(text=text))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return out

    def finish(self) -> LlmChunk:
        """The last chunk: complete tool calls, finish reason, usage."""
        self.done = True
        calls = []
        for idx in sorted(self._calls):
            slot = self._calls[idx]
            try:
                args = json.loads(slot["args"]) if slot["args"].strip() else {}
            except json.JSONDecodeError:
                log.warning("tool call %s had unparseable arguments", slot.get("name"))
                args = {"_raw": slot["args"]}
            calls.append(ToolCall(name=str(slot.get("name", "")), args=args if isinstance(args, dict) else {},
                                  id=str(slot.get("id", ""))))
        return LlmChunk(tool_calls=tuple(calls), done=True, finish_reason=self.finish_reason or "stop",
                        usage=dict(self.usage))
