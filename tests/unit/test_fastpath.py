"""The fast path: common commands without the LLM, precise, and deferring when unsure."""

from __future__ import annotations

from pathlib import Path

import pytest

from sayso.agent import fastpath
from sayso.agent.evaluate import fast_decision, load_cases, matches, score
from tests.conftest import dev_commands_path

DEV: Path = dev_commands_path()


def test_every_dev_row_the_fast_path_claims_is_right_and_it_claims_most_commands() -> None:
    cases = load_cases(DEV)
    sc = score("fast path", cases, [fast_decision(c.utterance) for c in cases])
    assert sc.wrong == []  # precision first: never act wrongly
    commands = [c for c in cases if c.tool != "answer"]
    assert sc.claimed >= 0.8 * len(commands)
    # questions and chat always go to the LLM
    for case in cases:
        if case.tool == "answer":
            assert fastpath.plan(case.utterance) is None, case.utterance


# phrasings that are not in the development set
HELD_OUT = [
    ("Searching the web for train times to leeds.", "search", {"query": "train times to leeds"}),  # Whisper
    ("Could you scroll down a little, please?", "scroll", {"direction": "down"}),
    ("go all the way to the bottom", "scroll", {"direction": "bottom"}),
    ("top of the page", "scroll", {"direction": "top"}),
    ("go back to the previous page", "back", {}),
    ("Go forward.", "forward", {}),
    ("reload", "reload", {}),
    ("Switch to tab two.", "switch_tab", {"index": 2}),
    ("go to the next tab", "switch_tab", {"index": "next"}),
    ("the second tab", "switch_tab", {"index": 2}),
    ("open a new tab", "new_tab", {}),
    ("open YouTube in a new tab", "new_tab", {"url": "youtube.com"}),
    ("close this tab", "close_tab", {}),
    ("Click link number twelve.", "click", {"index": 12}),
    ("click the 2nd result", "click", {"index": 2}),
    ("press the sign in button", "click", {"text": "sign in"}),
    ("Visit StackOverflow dot com.", "navigate", {"url": "stackoverflow.com"}),
    ("go to example dot org", "navigate", {"url": "example.org"}),
    ("open wikipedia", "navigate", {"url": "wikipedia.org"}),
    ("Search for cheap flights to Rome.", "search", {"query": "cheap flights to rome"}),
    ("google the eiffel tower height", "search", {"query": "the eiffel tower height"}),
    ("type hello world", "type", {"text": "hello world"}),
    ("what's this page about", "summarize_page", {}),
    ("read the headings", "read_headings", {}),
    ("read this page out loud", "read_page", {}),
    ("pause the video", "media", {"action": "pause"}),
    ("mute", "media", {"action": "mute"}),
    ("zoom out", "zoom", {"direction": "out"}),
    ("make the page smaller", "zoom", {"direction": "out"}),
    ("stop talking", "stop", {}),
    ("never mind", "stop", {}),
]


@pytest.mark.parametrize(("said", "tool", "args"), HELD_OUT)
def test_held_out_phrasings_map_to_the_right_call(said: str, tool: str, args: dict) -> None:
    call = fastpath.match(said)
    assert call is not None, said
    assert (call.name, dict(call.args)) == (tool, args)


@pytest.mark.parametrize(
    "said",
    [
        "open the settings",  # unknown site: the LLM decides (maybe a link)
        "search youtube for cats",  # a site search, not a web search for 'youtube for cats'
        "what time is it",
        "click",
        "play despacito",
        "tell me a joke",
        "",
        "   ",
    ],
)
def test_unsure_utterances_are_left_to_the_llm(said: str) -> None:
    assert fastpath.plan(said) is None
    assert not fastpath.is_complete_command(said)


def test_several_commands_are_planned_only_when_every_part_is_known() -> None:
    calls = fastpath.plan("open youtube and then scroll down")
    assert calls is not None
    assert [(c.name, dict(c.args)) for c in calls] == [
        ("navigate", {"url": "youtube.com"}), ("scroll", {"direction": "down"})]
    # 'and' inside a query is not a second command
    assert [dict(c.args) for c in fastpath.plan("search for salt and pepper") or []] == [
        {"query": "salt and pepper"}]
    assert fastpath.plan("open google and do my homework") is None


def test_complete_command_predicate_lets_the_segmenter_end_early() -> None:
    assert fastpath.is_complete_command("scroll down")
    assert fastpath.is_complete_command("switch to tab three")
    assert not fastpath.is_complete_command("search for")
    assert not fastpath.is_complete_command("who painted the")


def test_normalisation_handles_whisper_output() -> None:
    assert fastpath.normalise("Please, could you go to Tab Three?") == "go to tab 3"
    assert fastpath.normalise("Visit stackoverflow dot com.") == "visit stackoverflow.com"


def test_answers_count_as_right_only_when_nothing_was_called() -> None:
    from sayso.agent.evaluate import Case, Decision
    from sayso.types import ToolCall

    case = Case("thank you", "answer")
    assert matches(case, Decision())
    assert not matches(case, Decision(calls=(ToolCall("stop"),)))
    assert not matches(case, Decision(declined=True))
