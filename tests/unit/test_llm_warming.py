"""The web app's LLM loads in the background: the app is ready first, LLM turns wait for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sayso.agent import factory
from sayso.config import load_settings
from sayso.errors import LlmError
from sayso.llm.warming import WarmingLlm
from sayso.types import ChatMessage, LlmChunk
from sayso.ui.stages import LLM_LOADING, Stages


class FakeLlm:
    name = "fake"

    def __init__(self) -> None:
        self.closed = False

    async def chat(self, messages: Any, **kw: Any) -> AsyncIterator[LlmChunk]:
        yield LlmChunk(text="hi")
        yield LlmChunk(done=True)

    async def warmup(self) -> None:
        return None

    async def close(self) -> None:
        self.closed = True


async def texts(llm: Any) -> list[str]:
    return [c.text async for c in llm.chat([ChatMessage(role="user", content="hello")]) if c.text]


@pytest.fixture
def slow_llm(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    state: dict[str, Any] = {"gate": asyncio.Event(), "fail": None, "built": []}

    async def build_llm(settings: Any, *, warm: bool = True) -> FakeLlm:
        await state["gate"].wait()
        if state["fail"]:
            raise state["fail"]
        llm = FakeLlm()
        state["built"].append(llm)
        return llm

    async def build_components(settings: Any, *, stt: bool = True, llm: bool = True,
                               tts: bool = True, warm: bool = True) -> factory.Components:
        assert not llm  # the LLM never loads in the foreground
        return factory.Components(settings=settings, stt=object() if stt else None,
                                  tts=object() if tts else None)

    monkeypatch.setattr(factory, "build_llm", build_llm)
    monkeypatch.setattr(factory, "build_components", build_components)
    return state


async def test_the_app_is_ready_before_the_llm_and_llm_turns_wait(slow_llm) -> None:
    stages = Stages(load_settings())
    await asyncio.wait_for(stages.ready(), 5)  # does not wait for the LLM
    assert not stages.llm_warm and stages.notes["llm"] == LLM_LOADING
    comp = await stages._components(stages.settings)
    assert comp.stt is not None and comp.tts is not None and comp.llm is not None
    answer = asyncio.create_task(texts(comp.llm))
    await asyncio.sleep(0)  # the question runs up to its wait (it cannot end before the gate opens)
    assert not answer.done()  # the question waits for the model...
    slow_llm["gate"].set()
    assert await asyncio.wait_for(answer, 5) == ["hi"]  # ...and is answered once it is warm
    assert stages.llm_warm and "llm" not in stages.notes and comp.llm.name == "fake"
    await stages.close()
    assert slow_llm["built"][0].closed


async def test_a_failed_background_load_is_one_sentence_and_the_app_goes_on(slow_llm) -> None:
    stages = Stages(load_settings())
    await stages.ready()
    comp = await stages._components(stages.settings)
    slow_llm["fail"] = LlmError("The model file is missing.")
    slow_llm["gate"].set()
    with pytest.raises(LlmError):
        await texts(comp.llm)
    await asyncio.sleep(0)
    assert stages.llm_warm and "model file is missing" in stages.notes["llm"]
    assert stages.shared("stt") is not None  # the rest of the app is untouched
    await stages.close()


async def test_closing_while_loading_cancels_the_load() -> None:
    started = asyncio.Event()

    async def never() -> FakeLlm:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    llm = WarmingLlm(never())
    await started.wait()
    assert llm.loading and llm.name == "loading"
    await llm.close()
    assert not llm.loading
    with pytest.raises(LlmError):
        await llm.wait()
