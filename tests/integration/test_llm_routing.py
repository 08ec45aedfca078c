"""The default model (Qwen2.5-Coder-0.5B, embedded) routes a handful of commands it has not seen.

The LLM path alone (no fast path), through the real turn code in dry-run mode. The full
accuracy table is ``scripts/measure_intent.py``; this guards against a broken prompt or schema.
"""

from __future__ import annotations

import asyncio

import pytest

from sayso import models as bundled
from sayso.agent.evaluate import Case, llm_decision, matches
from sayso.config import load_settings
from sayso.llm.llamacpp import LlamaCppLlm

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not bundled.qwen_gguf_parts(), reason="the bundled Qwen parts are not installed"),
]


@pytest.fixture(scope="module")
def qwen() -> LlamaCppLlm:
    from sayso.agent.factory import warm_decision_prefix

    llm = LlamaCppLlm(settings=load_settings(llm="embedded"))
    asyncio.run(llm.warmup())
    asyncio.run(warm_decision_prefix(llm))
    return llm


CASES = [
    Case("take me to the bbc website", "navigate", "bbc.com"),
    Case("find reviews of the new iphone", "search", "reviews of the new iphone"),
    Case("who wrote romeo and juliet", "answer"),
    Case("please go down a bit", "scroll", "down"),
]


async def test_the_default_model_routes_unseen_commands(qwen: LlamaCppLlm) -> None:
    settings = load_settings()
    results = [await llm_decision(qwen, settings, c.utterance) for c in CASES]
    right = [c.utterance for c, d in zip(CASES, results, strict=True) if matches(c, d) or (
        c.tool == "navigate" and d.calls and d.calls[0].name == "navigate" and "bbc" in d.calls[0].args["url"])]
    assert len(right) >= 3, [(c.utterance, d.calls) for c, d in zip(CASES, results, strict=True)]


async def test_a_question_is_answered_in_plain_text_from_the_first_token_and_a_command_is_a_tool_call(
        qwen: LlamaCppLlm) -> None:
    from sayso.agent.conversation import Conversation
    from sayso.agent.turn import Turn

    async def turn(text: str) -> tuple[list[tuple[str, dict]], list[str], object]:
        events: list[tuple[str, dict]] = []
        said: list[str] = []
        t = Turn(settings=load_settings(), llm=qwen, browser=None, conversation=Conversation(),
                 emit=lambda kind, **data: events.append((kind, data)), say=said.append, dry_run=True,
                 use_fastpath=False)
        return events, said, await t.run(text)

    events, said, out = await turn("who painted the mona lisa")
    kinds = [k for k, _ in events]
    assert not out.calls and "{" not in out.reply and "leonardo" in out.reply.lower()
    # the answer is known at the first token and streams as text: no JSON wrapper to wait for
    assert kinds.index("intent-end") == kinds.index("llm-first-token") + 1
    assert len(said) > 3 and "".join(said) == out.reply

    events, said, out = await turn("search the web for cheap flights to rome")
    assert [c.name for c in out.calls] == ["search"]
    assert "cheap flights" in out.calls[0].args["query"]
    assert not any("{" in piece for piece in said)  # the JSON is acted on, never spoken
    assert next(d for k, d in events if k == "intent-end")["tools"] == ["search"]
