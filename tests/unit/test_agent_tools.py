"""The tool contract, argument validation, streamed answers and the history budget."""

from __future__ import annotations

import pytest

from sayso.agent.conversation import Conversation, Exchange
from sayso.agent.tools import NAMES, ToolArgError, decision_schema, validate
from sayso.agent.turn import AnswerStream, parse_decision
from sayso.types import ToolCall

CONTRACT = {"navigate", "search", "click", "type", "scroll", "back", "forward", "reload", "new_tab", "close_tab",
            "switch_tab", "read_page", "summarize_page", "read_headings", "media", "zoom", "stop"}


def test_the_tool_names_are_exactly_the_contract() -> None:
    assert set(NAMES) == CONTRACT
    consts = {v["properties"]["tool"]["const"] for v in decision_schema()["anyOf"]}
    assert consts == CONTRACT | {"answer"}


@pytest.mark.parametrize(
    ("call", "clean"),
    [
        (ToolCall("click", {"index": "#3"}), {"index": 3}),
        (ToolCall("click", {"text": "  About us "}), {"text": "About us"}),
        (ToolCall("switch_tab", {"index": "Next"}), {"index": "next"}),
        (ToolCall("switch_tab", {"index": 2.0}), {"index": 2}),
        (ToolCall("scroll", {"direction": "DOWN"}), {"direction": "down"}),
        (ToolCall("new_tab", {}), {}),
        (ToolCall("navigate", {"url": "https://example.org/a?b=1"}), {"url": "https://example.org/a?b=1"}),
        (ToolCall("navigate", {"url": "localhost:8000"}), {"url": "localhost:8000"}),
        (ToolCall("Back", {"junk": 1}), {}),
    ],
)
def test_valid_calls_come_out_clean(call: ToolCall, clean: dict) -> None:
    assert dict(validate(call).args) == clean


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (ToolCall("navigate", {"url": "javascript:alert(1)"}), "only open web pages"),
        (ToolCall("navigate", {"url": "file:///etc/passwd"}), "only open web pages"),
        (ToolCall("navigate", {}), "url"),
        (ToolCall("click", {}), "what to click"),
        (ToolCall("click", {"index": 0}), "number from 1"),
        (ToolCall("scroll", {"direction": "sideways"}), "up, down, top or bottom"),
        (ToolCall("switch_tab", {"index": "last"}), "next or previous"),
        (ToolCall("search", {"query": "x" * 600}), "too long"),
        (ToolCall("format_disk", {}), "don't know how"),
    ],
)
def test_bad_calls_are_refused_with_one_sentence(call: ToolCall, says: str) -> None:
    with pytest.raises(ToolArgError) as err:
        validate(call)
    assert says in str(err.value)
    assert str(err.value).endswith(".")


def test_answer_text_streams_out_of_a_partial_json_reply() -> None:
    reply = '{"tool": "answer", "args": {"text": "He said \\"hi\\" \\u2014 then left.\\nBye"}}'
    stream, out = AnswerStream(), ""
    for i in range(1, len(reply) + 1):  # one character at a time, escapes cut in half included
        out += stream.feed(reply[:i])
    assert out == 'He said "hi" \u2014 then left.\nBye'
    assert parse_decision(reply) == out


def test_tool_replies_do_not_stream_as_text() -> None:
    reply = '{"tool": "type", "args": {"text": "pasta recipes"}}'
    stream = AnswerStream()
    assert "".join(stream.feed(reply[:i]) for i in range(1, len(reply) + 1)) == ""
    assert parse_decision(reply) == ToolCall("type", {"text": "pasta recipes"})
    assert parse_decision('{"tool": "answer", "args": {"te') is None


def test_history_stays_within_its_budget_and_summarises_older_turns() -> None:
    conv = Conversation(budget_tokens=60)
    for i in range(20):
        conv.add(Exchange(user=f"question number {i} about something", reply=f"answer {i} " * 3))
    msgs = conv.context()
    assert sum(len(m.content) for m in msgs[2:]) // 4 <= 60 + 10
    assert msgs[0].content.startswith("[earlier the user asked:")
    assert "question number 19" in msgs[-2].content  # the newest turn is kept whole
    conv.add(Exchange(user="   ", reply="nothing"))  # empty speech is not history
    assert len(conv) == 20
