"""The tool contract (sayso.tools): one declaration per tool, and what is generated from it."""

from __future__ import annotations

from typing import Any

import pytest

from sayso import tools
from sayso.agent.prompts import DECISION_SYSTEM, decision_prefix
from sayso.browser.actions import ACTIONS
from sayso.errors import ToolArgsError
from sayso.tools import NAMES, chip_text, decision_schema, describe, parse_index, validate
from sayso.types import ToolCall

# ARCHITECTURE.md section 4
CONTRACT = {"navigate", "search", "click", "type", "scroll", "back", "forward", "reload", "new_tab", "close_tab",
            "switch_tab", "read_page", "summarize_page", "read_headings", "media", "zoom", "stop", "copy_url"}


def _variant(name: str) -> dict[str, Any]:
    return next(v for v in decision_schema()["anyOf"] if v["properties"]["tool"]["const"] == name)


def test_the_tool_names_are_exactly_the_contract() -> None:
    assert set(NAMES) == CONTRACT
    consts = {v["properties"]["tool"]["const"] for v in decision_schema()["anyOf"]}
    assert consts == CONTRACT | {"answer"}


def test_every_browser_tool_has_one_action_and_stop_is_the_agents() -> None:
    assert {t.name for t in tools.TOOLS if t.browser} == set(ACTIONS)
    assert not tools.BY_NAME["stop"].browser


def test_the_schema_carries_each_arguments_type_and_limits() -> None:
    click = _variant("click")["properties"]["args"]
    assert click["properties"] == {"text": {"type": "string", "minLength": 1, "maxLength": 200},
                                   "index": {"type": "integer", "minimum": 1, "maximum": 999}}
    assert click["required"] == [] and click["additionalProperties"] is False  # "kind" is for code only
    tab = _variant("switch_tab")["properties"]["args"]
    assert tab["properties"]["index"]["anyOf"] == [{"type": "integer", "minimum": 1, "maximum": 99},
                                                   {"enum": ["next", "previous"]}]
    assert tab["required"] == ["index"]
    assert _variant("scroll")["properties"]["args"]["properties"]["direction"] == {"enum": ["up", "down", "top", "bottom"]}
    nav = _variant("navigate")["properties"]["args"]["properties"]["url"]
    assert nav["maxLength"] == tools.LLM_TEXT_CAP  # the model writes at most 300; code may pass 2048
    assert _variant("back")["properties"]["args"] == {"type": "object", "properties": {}, "additionalProperties": False}
    assert _variant("answer")["properties"]["args"]["properties"]["text"]["maxLength"] == 600


def test_the_prompt_lists_every_tool_from_the_contract() -> None:
    listed = DECISION_SYSTEM.split("Tools:\n", 1)[1]
    assert listed.startswith(tools.prompt_tool_list())
    lines = tools.prompt_tool_list().splitlines()
    assert "back, forward, reload: browser history" in lines  # a shared line
    assert lines[-1].startswith("questions and chat: no JSON")  # answers are plain text
    positions = [listed.index(t.prompt) for t in tools.TOOLS]
    assert positions == sorted(positions)  # in the contract's order
    for t in tools.TOOLS:  # each piece names its tool and its required arguments
        assert t.prompt.startswith(t.name)
        assert all(f'"{a.name}"' in t.prompt for a in t.args if a.required)
    assert decision_prefix()[0].content == DECISION_SYSTEM


@pytest.mark.parametrize(
    ("call", "clean"),
    [
        (ToolCall("click", {"index": "#3"}), {"index": 3}),
        (ToolCall("click", {"text": "  About us "}), {"text": "About us"}),
        (ToolCall("click", {"text": "#4"}), {"index": 4}),
        (ToolCall("click", {"text": "number four"}), {"index": 4}),
        (ToolCall("click", {"text": "Log in", "index": 2}), {"index": 2}),
        (ToolCall("click", {"index": 1, "kind": "link"}), {"index": 1, "kind": "link"}),
        (ToolCall("switch_tab", {"index": "Next"}), {"index": "next"}),
        (ToolCall("switch_tab", {"index": "prev"}), {"index": "previous"}),
        (ToolCall("switch_tab", {"index": 2.0}), {"index": 2}),
        (ToolCall("switch_tab", {"index": "3"}), {"index": 3}),
        (ToolCall("scroll", {"direction": "DOWN"}), {"direction": "down"}),
        (ToolCall("scroll", {"direction": " Page Down "}), {"direction": "down"}),
        (ToolCall("zoom", {"direction": "bigger"}), {"direction": "in"}),
        (ToolCall("media", {"action": "resume"}), {"action": "play"}),
        (ToolCall("type", {"text": "hi\x00there", "submit": "yes"}), {"text": "hi there", "submit": True}),
        (ToolCall("new_tab", {}), {}),
        (ToolCall("navigate", {"url": "https://example.org/a?b=1"}), {"url": "https://example.org/a?b=1"}),
        (ToolCall("navigate", {"url": "localhost:8000"}), {"url": "localhost:8000"}),
        (ToolCall("navigate", {"url": 42}), {"url": "42"}),  # a number is text enough ("42" -> 42.com)
        (ToolCall("Back", {"junk": 1}), {}),
        (ToolCall("back", None), {}),  # type: ignore[arg-type]
    ],
)
def test_valid_calls_come_out_clean_and_checking_twice_changes_nothing(call: ToolCall, clean: dict) -> None:
    once = validate(call)
    assert dict(once.args) == clean
    assert validate(once) == once


@pytest.mark.parametrize(
    ("tool", "args", "message", "code"),
    [
        ("navigate", {}, "I need a site or web address for that.", "tool.invalid_args"),
        ("navigate", {"url": {"a": 1}}, "The url must be text.", "tool.invalid_args"),
        ("navigate", {"url": "javascript:alert(1)"},
         "I won't open javascript: addresses; only web pages (http and https) are allowed.", "url.unsafe"),
        ("new_tab", {"url": "file:///etc/passwd"},
         "I won't open file: addresses; only web pages (http and https) are allowed.", "url.unsafe"),
        ("navigate", {"url": "x" * 2049}, "The url is too long (at most 2048 characters).", "tool.invalid_args"),
        ("search", {"query": "x" * 501}, "The query is too long (at most 500 characters).", "tool.invalid_args"),
        ("type", {"text": "x" * 1001}, "The text is too long (at most 1000 characters).", "tool.invalid_args"),
        ("type", {"text": ""}, "I need the words to type for that.", "tool.invalid_args"),
        ("type", {"text": "hi", "submit": "maybe"}, "The submit must be true or false.", "tool.invalid_args"),
        ("click", {}, "Tell me which link to click: its words or its number.", "tool.invalid_args"),
        ("click", {"index": 0}, "The link number must be 1 or more.", "tool.invalid_args"),
        ("click", {"index": 1000}, "The link number must be at most 999.", "tool.invalid_args"),
        ("click", {"index": "many"}, "The link number must be a whole number, like 3.", "tool.invalid_args"),
        ("click", {"index": 3, "kind": "image"}, "'image' is not a kind I know for click: use auto, result, link.",
         "tool.invalid_args"),
        ("scroll", {"direction": "sideways"},
         "'sideways' is not a direction I know for scroll: use up, down, top, bottom.", "tool.invalid_args"),
        ("media", {}, "I need an action for media: one of play, pause, mute, unmute.", "tool.invalid_args"),
        ("zoom", {"direction": 3}, "I need a direction for zoom: one of in, out, reset.", "tool.invalid_args"),
        ("switch_tab", {}, "Say which tab: a number like 2, or next or previous.", "tool.invalid_args"),
        ("switch_tab", {"index": "last"}, "Say which tab: a number like 2, or next or previous.", "tool.invalid_args"),
        ("switch_tab", {"index": 100}, "Say which tab: a number like 2, or next or previous.", "tool.invalid_args"),
        ("scroll", ["down"], "The tool arguments must be a set of named values.", "tool.invalid_args"),
        ("format_disk", {}, "I don't know how to 'format_disk'.", "tool.unknown"),
    ],
)
def test_bad_calls_are_refused_with_one_sentence(tool: str, args: object, message: str, code: str) -> None:
    with pytest.raises(ToolArgsError) as err:
        validate(ToolCall(tool, args))  # type: ignore[arg-type]
    assert err.value.message == message
    assert err.value.code == code


def test_only_the_users_yes_confirms_a_risky_action() -> None:
    said = ToolCall("click", {"text": "Buy now", "confirmed": True})
    assert "confirmed" not in validate(said).args  # what a model wrote is dropped
    assert validate(said, trusted=True).args["confirmed"] is True
    assert "confirmed" not in validate(ToolCall("scroll", {"direction": "up", "confirmed": True}), trusted=True).args
    assert {t.name for t in tools.TOOLS if t.risk == "confirm"} == {"click", "type"}


@pytest.mark.parametrize(
    ("value", "number"),
    [(4, 4), ("4", 4), ("#4", 4), ("number four", 4), ("the third", 3), ("3rd", 3), ("the first one", 1),
     ("number 12", 12), (2.0, 2), ("many", None), (True, None), (None, None), ("", None)],
)
def test_parse_index(value: object, number: int | None) -> None:
    assert parse_index(value) == number


def test_chip_texts_come_from_the_contract() -> None:
    assert chip_text("navigate", {"url": "https://en.wikipedia.org/wiki/Cat"}) == "opened en.wikipedia.org"
    assert chip_text("click", {"text": "About us"}) == "clicked 'About us'"
    assert chip_text("click", {"index": 3}) == "clicked link 3"
    assert chip_text("new_tab", {}) == "opened a new tab"
    assert chip_text("new_tab", {"url": "https://news.example.org/x"}) == "opened a new tab at news.example.org"
    assert chip_text("read_page", {}, ok=False) == "could not do: read the page"
    assert chip_text("teleport", {}) == "teleport"
    assert chip_text("search", {"query": "x" * 200}) == "searched '" + "x" * 47 + "…'"
    for t in tools.TOOLS:  # every tool has a chip for its bare and its fullest call
        assert chip_text(t.name, {}) and chip_text(t.name, {a.name: "x" for a in t.args})


def test_copy_url_is_offered_to_the_llm_and_checked() -> None:
    assert _variant("copy_url")["properties"]["args"]["properties"] == {}
    assert "copy_url: say the address of the current page" in DECISION_SYSTEM.splitlines()
    assert validate(ToolCall("copy_url", {"junk": 1})).args == {}
    assert chip_text("copy_url", {}) == "gave the page address"


def test_dry_run_descriptions() -> None:
    assert describe(ToolCall("click", {"index": 3})) == "click #3"
    assert describe(ToolCall("switch_tab", {"index": 3})) == "switch_tab 3"  # as before: only links are "#3"
    assert describe(ToolCall("navigate", {"url": "google.com"})) == "navigate google.com"
    assert describe(ToolCall("type", {"text": "hello", "field": "name"})) == "type hello"
    assert describe(ToolCall("back", {})) == "back"
