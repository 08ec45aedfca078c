"""The TurnSummary every turn ends with, and what a cancelled turn leaves in the history."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from sayso.agent.session import Assistant
from sayso.agent.textmode import human_lines, run_turn
from sayso.config import load_settings
from sayso.events import Cancelled, SttPartial, TurnEvent, TurnSummary, event, now_ms
from sayso.types import SAMPLE_RATE, AudioChunk, Transcript, Utterance
from tests.fakes import FakeBrowser, FakeLlm, FakeStt, FakeTts


def make(**kw: Any) -> Assistant:
    for stage in ("llm", "stt", "tts", "browser"):
        kw.setdefault(stage, None)
    return Assistant(settings=load_settings(), **kw)


def summary_of(events: list[TurnEvent]) -> TurnSummary:
    assert events[-1].summary is not None
    return events[-1].summary


async def test_a_text_turn_ends_with_its_summary_and_do_json_is_the_contract() -> None:
    browser = FakeBrowser()
    assistant = make(browser=browser)
    result, events = await run_turn(assistant, "open wikipedia")
    s = summary_of(events)
    assert events[-1].type == "turn-end" and not s.cancelled and s.source == "text" and s.local
    assert s.transcript == "open wikipedia" and s.reply == "Did navigate."
    assert [(a.tool, dict(a.args), a.ok, a.message) for a in s.actions] == [
        ("navigate", {"url": "wikipedia.org"}, True, "Did navigate.")]
    assert s.browser.url == "https://wikipedia.org/" and s.browser.tabs[0].active
    assert 0 <= s.timings_ms["intent"] <= s.timings_ms["action"] <= s.timings_ms["total"]
    # sayso do --json: exactly the contract's keys, in order, from the summary as it is
    assert list(result) == ["transcript", "actions", "reply", "browser", "timings_ms"]
    assert result["actions"] == [{"tool": "navigate", "args": {"url": "wikipedia.org"}, "ok": True, "error": None}]
    assert result["browser"] == {"url": "https://wikipedia.org/", "title": "Page",
                                 "tabs": [{"index": 1, "title": "Page", "url": "https://wikipedia.org/",
                                           "active": True}]}
    assert json.loads(json.dumps(result)) == result
    assert human_lines(result)[0] == "  -> navigate(url='wikipedia.org')  [ok]"


async def test_a_voice_turn_summary_times_from_the_end_of_speech() -> None:
    stt = FakeStt(Transcript(text=" Scroll down. ", no_speech_prob=0.01, avg_logprob=-0.2))
    assistant = make(stt=stt, browser=FakeBrowser(), tts=FakeTts())
    ended = now_ms() - 300.0  # the segmenter saw the end of speech 300 ms ago
    utt = Utterance(audio=AudioChunk(np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE), turn_id="v1",
                    end_t_ms=ended)
    events = [ev async for ev in assistant.voice_turn(utt)]
    s = summary_of(events)
    assert {e.turn_id for e in events} == {"v1"}  # the utterance's id, no re-keying
    assert s.source == "voice" and s.transcript == "Scroll down." and s.reply == "Did scroll."
    assert [a.tool for a in s.actions] == ["scroll"]
    assert s.timings_ms["stt"] >= 300.0 and s.timings_ms["total"] >= s.timings_ms["first_audio"] >= 300.0


async def test_a_turn_cancelled_by_barge_in_keeps_what_was_done_and_said() -> None:
    llm = FakeLlm("The page is about cats and how they sleep most of the day.")
    browser = FakeBrowser(page_text="Cats sleep a lot. They like boxes.")
    assistant = make(llm=llm, browser=browser)
    seen: list[TurnEvent] = []
    async for ev in assistant.text_turn("summarize this page"):
        seen.append(ev)
        if ev.type == "reply-text":
            assistant.cancel()  # the user speaks over the summary
    s = summary_of(seen)
    assert seen[-1].type == "cancelled" and isinstance(s, Cancelled) and s.cancelled
    assert [a.tool for a in s.actions] == ["summarize_page"] and s.actions[0].ok
    assert s.reply and "The page is about cats".startswith(s.reply)  # what was said before the cut
    said = assistant.history[-1]
    assert said.user == "summarize this page" and [c.name for c in said.calls] == ["summarize_page"]
    assert said.reply == s.reply
    # the next turn's prompt carries it
    llm.replies.append('{"tool": "answer", "args": {"text": "Cats, mostly."}}')
    await run_turn(assistant, "what was that about")
    assert any("summarize_page" in m.content for m in llm.calls[-1])


def test_payloads_are_typed_and_read_as_mappings() -> None:
    ev = event("stt-partial", "t1", text="open wiki", final=False)
    assert isinstance(ev.payload, SttPartial) and ev.payload.text == "open wiki" and not ev.payload.final
    assert ev.data["text"] == "open wiki" and dict(ev.data)["final"] is False
    legacy = TurnEvent("reply-text", "t1", data={"delta": "Hi"})  # built elsewhere from a dict
    assert legacy.get(type(event("reply-text", "x").payload)).delta == "Hi"
    assert legacy.summary is None
    with pytest.raises(TypeError):  # the assistant's own events: an unknown field is a bug
        event("reply-text", "t1", text="guessed key")
