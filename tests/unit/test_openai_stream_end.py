"""A reply from an OpenAI-compatible server that ends early is an error, never a silent half answer."""

from __future__ import annotations

import json

import httpx
import pytest

from sayso.config import load_settings
from sayso.errors import LlmError
from sayso.llm.openai_compat import OpenAiLlm
from sayso.types import ChatMessage


def _sse(*events: dict[str, object], done: bool) -> bytes:
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    return (body + ("data: [DONE]\n\n" if done else "")).encode()


def _delta(text: str, finish: str | None = None) -> dict[str, object]:
    return {"object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


def _llm(body: bytes) -> OpenAiLlm:
    transport = httpx.MockTransport(
        lambda req: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"}))
    return OpenAiLlm(settings=load_settings(llm="openai", openai_base_url="http://127.0.0.1:9/v1"),
                     transport=transport)


async def test_a_stream_closed_before_the_reply_finished_raises_one_sentence() -> None:
    llm = _llm(_sse(_delta("The sky"), _delta(" is"), done=False))
    with pytest.raises(LlmError) as err:
        async for _ in llm.chat([ChatMessage("user", "What colour is the sky?")]):
            pass
    assert err.value.code == "llm.interrupted"
    assert err.value.message == "The LLM server at http://127.0.0.1:9/v1 stopped in the middle of a reply."


async def test_a_complete_stream_yields_its_text_then_done() -> None:
    llm = _llm(_sse(_delta("Blue"), _delta(".", "stop"), done=True))
    chunks = [c async for c in llm.chat([ChatMessage("user", "What colour is the sky?")])]
    assert "".join(c.text for c in chunks) == "Blue."
    assert chunks[-1].done and chunks[-1].finish_reason == "stop"
