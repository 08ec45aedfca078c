"""No line of our own prompts reaches the user, even when the model answers with it."""

from __future__ import annotations

import json

import pytest

from sayso.agent import prompts
from sayso.agent.echo import EchoGuard, leaks
from sayso.agent.session import Assistant
from sayso.agent.turn import NOT_UNDERSTOOD
from sayso.config import load_settings
from tests.fakes import FakeBrowser, FakeLlm, FakeTts


def _stream(text: str, step: int = 3) -> tuple[str, bool]:
    guard = EchoGuard()
    said = "".join(guard.feed(text[i:i + step]) for i in range(0, len(text), step)) + guard.finish()
    return said, guard.leaked


@pytest.mark.parametrize("line", prompts.prompt_lines())
def test_every_prompt_line_is_held_back_whole(line: str) -> None:
    said, leaked = _stream(line)
    assert leaked and said == ""
    said, leaked = _stream(f"Sure thing. {line.upper()}  and more")  # case and spacing do not matter
    assert leaked and said == "Sure thing. "


@pytest.mark.parametrize("answer", [
    "The capital of France is Paris.",
    "The telephone was invented by Alexander Graham Bell in 1876.",
    "I can open websites, search the web, click links and read pages to you.",
    "If you like, I can read the page aloud.",
    "You are welcome!",
])
def test_ordinary_answers_pass_unchanged(answer: str) -> None:
    assert _stream(answer) == (answer, False)
    assert _stream(answer, step=1) == (answer, False)
    assert not leaks(answer)


def test_text_is_held_only_while_it_could_still_be_a_prompt_line() -> None:
    guard = EchoGuard()
    assert guard.feed("If the") == ""  # could be "If the request needs another step..."
    assert guard.feed(" sky is blue") == "If the sky is blue"  # it is not: released at once
    assert guard.finish() == ""


def test_a_cut_off_echo_is_not_said_either() -> None:
    said, leaked = _stream("If the request needs another step, reply")  # max tokens hit mid-line
    assert leaked and said == ""


def _reply(events: list) -> str:
    end = next(e for e in events if e.type == "turn-end")
    return str(end.data["reply"])


async def test_a_model_answering_with_its_instructions_is_not_heard() -> None:
    """The case a user hit: after a failed tool, the model replied with the prompt's own ask."""
    browser = FakeBrowser(fail={"click"})
    tts = FakeTts()
    llm = FakeLlm(json.dumps({"tool": "click", "args": {"text": "log in"}}), prompts.ASK_NEXT)
    assistant = Assistant(settings=load_settings(), llm=llm, stt=None, tts=tts, browser=browser)
    events = [ev async for ev in assistant.text_turn("log me in please")]
    reply = _reply(events)
    assert reply == "I could not click."  # the tool's own sentence, not the prompt
    for line in prompts.prompt_lines():
        assert line.lower() not in reply.lower()
        assert all(line.lower() not in s.lower() for s in tts.spoken)


async def test_an_echo_as_the_whole_answer_gets_the_fallback_sentence() -> None:
    llm = FakeLlm(prompts.DECISION_SYSTEM.splitlines()[0])
    assistant = Assistant(settings=load_settings(), llm=llm, stt=None, tts=None, browser=None)
    events = [ev async for ev in assistant.text_turn("who are you")]
    assert _reply(events) == NOT_UNDERSTOOD
