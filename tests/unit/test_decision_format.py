"""The decision format per backend: a grammar (tool call or plain text) for llama.cpp, the JSON
schema for servers without grammars."""

from __future__ import annotations

import json

from sayso import tools
from sayso.llm.grammar import OR_TEXT, json_schema, or_text_grammar
from sayso.llm.oai import build_request
from sayso.types import ChatMessage

MSGS = [ChatMessage(role="user", content="who painted the mona lisa")]


def test_llama_cpp_gets_a_grammar_of_a_tool_call_or_plain_text() -> None:
    req = build_request(MSGS, response_format=tools.decision_format(), max_tokens=50, grammars=True)
    assert "response_format" not in req and req["temperature"] == 0.0
    grammar = req["grammar"]
    assert grammar.startswith("%llguidance {}\nstart: toolcall | answer\n")
    toolcall = json.loads(grammar.split("toolcall: %json ", 1)[1].split("\n", 1)[0])
    names = [v["properties"]["tool"]["const"] for v in toolcall["anyOf"]]
    assert names == [t.name for t in tools.TOOLS] and tools.ANSWER not in names  # answers are text
    assert "answer: /[^{}\\s][^{}]*/" in grammar  # text never starts with '{': the first token decides


def test_servers_without_grammars_get_the_json_schema_with_the_answer_object() -> None:
    req = build_request(MSGS, response_format=tools.decision_format(), max_tokens=50)
    assert "grammar" not in req
    assert req["response_format"]["json_schema"]["schema"] == tools.decision_schema()
    assert OR_TEXT not in json.dumps(req)
    assert json_schema(tools.decision_format()) == tools.decision_schema()
    assert or_text_grammar(tools.decision_schema()) is None  # JSON only: no text branch
