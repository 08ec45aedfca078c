"""Thinking early: the LLM starts on the words heard so far; the turn keeps its work when the
final transcript is the same, and a dropped early run leaves no trace (fakes of the Protocols)."""

from __future__ import annotations

import asyncio

from sayso.agent.session import Assistant
from sayso.events import TurnEvent
from sayso.types import Transcript
from tests.fakes import FakeBrowser, FakeLlm
from tests.unit.test_agent_session import _utt, answer, end, make, tool


async def settled(assistant: Assistant) -> None:
    """Let the early run write everything it will write (it is buffered, nothing is shown)."""
    early = assistant._early
    assert early is not None
    await asyncio.wait({early._task})


async def test_the_early_start_is_used_when_the_final_words_are_the_same() -> None:
    llm = FakeLlm(tool("click", text="About us"))
    browser, events = FakeBrowser(), []
    assistant = make(llm=llm, browser=browser, sink=events.append)
    assistant.page = await browser.state()  # known after the first turn
    assistant.speculate(Transcript(text="Show me who runs this company."))
    await settled(assistant)
    # decided, but nothing done, shown or remembered before the turn is confirmed
    assert len(llm.calls) == 1 and browser.executed == [] and events == [] and not assistant.history
    turn = [e async for e in assistant.voice_turn(_utt(Transcript(text="Show me who runs this company.")))]
    assert len(llm.calls) == 1  # not asked again
    assert [c.name for c in browser.executed] == ["click"]
    assert [e.type for e in turn].count("tool-start") == 1
    assert [h.user for h in assistant.history] == ["Show me who runs this company."]


async def test_a_dropped_early_start_leaves_no_trace() -> None:
    llm = FakeLlm(tool("navigate", url="weather.com"), answer("It is sunny in Paris."))
    browser, events = FakeBrowser(), []
    assistant = make(llm=llm, browser=browser, sink=events.append)
    assistant.page = await browser.state()
    assistant.speculate(Transcript(text="What is the weather"))
    await settled(assistant)
    turn = [e async for e in assistant.voice_turn(_utt(Transcript(text="What is the weather in Paris?")))]
    assert len(llm.calls) == 2 and "in Paris" in llm.calls[1][-1].content
    assert browser.executed == []  # the early decision (navigate) never ran
    assert not [e for e in events if e.type == "tool-start"]
    assert end(turn)["reply"] == "It is sunny in Paris."
    assert [h.user for h in assistant.history] == ["What is the weather in Paris?"]
    assert "weather.com" not in str([h.reply for h in assistant.history])


async def test_speech_resuming_stops_the_early_llm_run() -> None:
    llm = FakeLlm(answer("A long answer that takes a while to write out in full. " * 4))
    events: list[TurnEvent] = []
    assistant = make(llm=llm, sink=events.append)
    assistant.speculate(Transcript(text="Tell me about the history of rome"))
    early = assistant._early
    assert early is not None
    await asyncio.sleep(0)  # let the early run start streaming
    assistant.speculate(None)  # the user goes on talking
    await asyncio.wait({early._task})
    assert early.cancelled and llm.closed_streams == 1
    assert events == [] and not assistant.history


async def test_fast_path_doubtful_and_empty_words_do_not_start_the_llm() -> None:
    llm = FakeLlm()
    assistant = make(llm=llm, browser=FakeBrowser())
    for t in (Transcript(text="Scroll down."), Transcript(text="scroll town", avg_logprob=-1.4),
              Transcript(text="  ")):
        assistant.speculate(t)
        assert assistant._early is None
    assert llm.calls == []


async def test_a_typed_turn_drops_the_early_start() -> None:
    llm = FakeLlm(answer("Early."), answer("Typed."))
    assistant = make(llm=llm)
    assistant.speculate(Transcript(text="who painted the mona lisa"))
    await settled(assistant)
    events = [e async for e in assistant.text_turn("who painted the mona lisa")]
    assert end(events)["reply"] == "Typed."  # a text turn never takes a voice turn's early start


async def test_early_thinking_can_be_turned_off() -> None:
    from sayso.config import load_settings

    llm = FakeLlm()
    assistant = Assistant(settings=load_settings(llm_early=False), llm=llm, stt=None, tts=None, browser=None)
    assistant.speculate(Transcript(text="who painted the mona lisa"))
    assert assistant._early is None and llm.calls == []
