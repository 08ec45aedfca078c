"""Streamed answers and the history budget (the tool contract: test_tool_contract.py)."""

from __future__ import annotations

from sayso.agent.conversation import Conversation, Exchange
from sayso.agent.turn import AnswerStream, parse_decision
from sayso.types import ToolCall


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
