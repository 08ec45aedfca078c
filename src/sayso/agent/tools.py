"""The tool contract (ARCHITECTURE.md section 4): specs for the LLM and argument validation.

The LLM, the fast path and ``sayso do --dry-run`` share these names and arguments. Every call,
wherever it came from, goes through :func:`validate` before it reaches the browser: unknown
tools, missing or malformed arguments and non-web URL schemes become one clear sentence (a
``ToolResult`` with ``ok=False``), never an exception in the turn. The browser checks URLs
against its own policy (private hosts etc.) again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sayso.types import ToolCall, ToolSpec

_NONE: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


_STR = {"type": "string", "minLength": 1, "maxLength": 300}

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("navigate", "Open a website by name or address.", _obj({"url": _STR}, ("url",))),
    ToolSpec("search", "Search the web.", _obj({"query": _STR}, ("query",))),
    ToolSpec("click", "Click a link or button by its visible words, or by its number.",
             _obj({"text": _STR, "index": {"type": "integer", "minimum": 1, "maximum": 999}})),
    ToolSpec("type", "Type text into the focused or named field.",
             _obj({"text": _STR, "field": _STR, "submit": {"type": "boolean"}}, ("text",))),
    ToolSpec("scroll", "Scroll about a screen, or to the top or bottom.",
             _obj({"direction": {"enum": ["up", "down", "top", "bottom"]}}, ("direction",))),
    ToolSpec("back", "Go back to the previous page.", _NONE),
    ToolSpec("forward", "Go forward in history.", _NONE),
    ToolSpec("reload", "Reload the page.", _NONE),
    ToolSpec("new_tab", "Open a new tab, optionally with a website.", _obj({"url": _STR})),
    ToolSpec("close_tab", "Close the current tab.", _NONE),
    ToolSpec("switch_tab", "Switch to a tab by number (1 is the first), or next/previous.",
             _obj({"index": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 99},
                                       {"enum": ["next", "previous"]}]}}, ("index",))),
    ToolSpec("read_page", "Read the page's main text aloud.", _NONE),
    ToolSpec("summarize_page", "Summarize the page.", _NONE),
    ToolSpec("read_headings", "List the page's headings.", _NONE),
    ToolSpec("media", "Control the page's video or audio.",
             _obj({"action": {"enum": ["play", "pause", "mute", "unmute"]}}, ("action",))),
    ToolSpec("zoom", "Zoom the page.", _obj({"direction": {"enum": ["in", "out", "reset"]}}, ("direction",))),
    ToolSpec("stop", "Stop speaking, cancel.", _NONE),
)

BY_NAME: dict[str, ToolSpec] = {t.name: t for t in TOOLS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
ANSWER = "answer"  # the LLM's pseudo-tool for a plain spoken reply
BROWSER_FREE = frozenset({"stop"})  # handled by the agent itself

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_CTRL = re.compile(r"[\x00-\x1f\x7f]")


class ToolArgError(ValueError):
    """A call the agent refuses: the message is one sentence for the user."""


def decision_schema() -> dict[str, Any]:
    """The JSON schema the LLM's reply must follow: one tool call or a plain answer."""
    variants = [
        {"type": "object", "properties": {"tool": {"const": t.name}, "args": dict(t.parameters)},
         "required": ["tool", "args"], "additionalProperties": False}
        for t in TOOLS
    ]
    variants.append(
        {"type": "object",
         "properties": {"tool": {"const": ANSWER},
                        "args": _obj({"text": {"type": "string", "maxLength": 600}}, ("text",))},
         "required": ["tool", "args"], "additionalProperties": False}
    )
    return {"anyOf": variants}


def _text(args: Mapping[str, Any], key: str, tool: str, *, required: bool, limit: int = 500) -> str | None:
    value = args.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ToolArgError(f"I need to know what to use for '{key}' to {tool.replace('_', ' ')}.")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ToolArgError(f"The {key} for {tool} must be text.")
    text = _CTRL.sub(" ", str(value)).strip()
    if len(text) > limit:
        raise ToolArgError(f"The {key} for {tool} is too long.")
    return text


def _url(args: Mapping[str, Any], tool: str, *, required: bool) -> str | None:
    url = _text(args, "url", tool, required=required, limit=2048)
    if url is None:
        return None
    m = _SCHEME.match(url)
    if m and m.group(1).lower() not in ("http", "https") and not re.match(r"^[\w.-]+:\d+", url):
        raise ToolArgError(f"I only open web pages, not {m.group(1).lower()}: addresses.")
    return url


def _index(value: Any, tool: str, *, words: tuple[str, ...] = ()) -> int | str:
    if isinstance(value, str):
        v = value.strip().lower().lstrip("#")
        if v in words:
            return v
        if v.isdigit():
            value = int(v)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 1:
        allowed = " or ".join(("a number from 1", *words))
        raise ToolArgError(f"The {tool.replace('_', ' ')} index must be {allowed}.")
    if value > 999:
        raise ToolArgError(f"There is no number {int(value)} to {tool.replace('_', ' ')}.")
    return int(value)


def _choice(args: Mapping[str, Any], key: str, tool: str, allowed: tuple[str, ...]) -> str:
    value = str(args.get(key, "")).strip().lower()
    if value not in allowed:
        raise ToolArgError(f"{tool.capitalize()} needs {key} {', '.join(allowed[:-1])} or {allowed[-1]}.")
    return value


def validate(call: ToolCall) -> ToolCall:
    """The call with clean, typed arguments; raises ToolArgError with one sentence."""
    name = call.name.strip().lower()
    if name not in BY_NAME:
        raise ToolArgError(f"I don't know how to '{call.name}'.")
    args = call.args if isinstance(call.args, Mapping) else {}
    clean: dict[str, Any] = {}
    if name == "navigate":
        clean["url"] = _url(args, name, required=True)
    elif name == "new_tab":
        url = _url(args, name, required=False)
        if url:
            clean["url"] = url
    elif name == "search":
        clean["query"] = _text(args, "query", name, required=True)
    elif name == "click":
        text = _text(args, "text", name, required=False, limit=200)
        if args.get("index") not in (None, ""):
            clean["index"] = _index(args["index"], name)
        elif text:
            clean["text"] = text
        else:
            raise ToolArgError("Tell me what to click: the words on the link, or its number.")
    elif name == "type":
        clean["text"] = _text(args, "text", name, required=True, limit=1000)
        field = _text(args, "field", name, required=False, limit=100)
        if field:
            clean["field"] = field
        if isinstance(args.get("submit"), bool):
            clean["submit"] = args["submit"]
    elif name == "scroll":
        clean["direction"] = _choice(args, "direction", name, ("up", "down", "top", "bottom"))
    elif name == "switch_tab":
        if args.get("index") in (None, ""):
            raise ToolArgError("Tell me which tab: a number, next or previous.")
        clean["index"] = _index(args["index"], name, words=("next", "previous"))
    elif name == "media":
        clean["action"] = _choice(args, "action", name, ("play", "pause", "mute", "unmute"))
    elif name == "zoom":
        clean["direction"] = _choice(args, "direction", name, ("in", "out", "reset"))
    return ToolCall(name=name, args=clean, id=call.id)


def describe(call: ToolCall) -> str:
    """A short human description, e.g. 'navigate google.com', 'click #3'."""
    a = call.args
    if "index" in a and call.name == "click":
        return f"click #{a['index']}"
    arg = next((str(v) for k, v in a.items() if k in ("url", "query", "text", "direction", "action", "index")), "")
    return f"{call.name} {arg}".strip()
