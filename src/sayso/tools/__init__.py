"""The tool contract: every tool declared once (``catalog.py``), and what is generated from it.

- :func:`decision_schema`: the JSON schema the LLM's reply must follow (one tool call or
  ``answer``);
- :func:`prompt_tool_list`: the tool list in the LLM's system prompt;
- :func:`validate`: the one argument check every call passes, wherever it came from (LLM, fast
  path, ``sayso do``, the browser's own entry point): unknown tools, missing, mistyped or
  out-of-range arguments and non-web URL schemes become a :class:`~sayso.errors.ToolArgsError`
  with one sentence (code ``tool.invalid_args``, ``tool.unknown`` or ``url.unsafe``);
- :func:`chip_text` and :func:`describe`: how an action is shown and said.

The browser keeps URL policy (``browser/policy.py``: private hosts etc.) and execution
(``browser/actions/``: ``ACTIONS`` maps each browser tool to its function, registered with
``@action("name")``).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sayso.errors import ToolArgsError
from sayso.llm.grammar import OR_TEXT
from sayso.tools.catalog import ANSWER, ANSWER_PROMPT, ANSWER_TEXT_MAX, TOOLS
from sayso.tools.spec import LLM_TEXT_CAP, Arg, Reply, Risk, Tool
from sayso.tools.values import MISSING, check, parse_index
from sayso.types import ToolCall

__all__ = [
    "ANSWER", "BY_NAME", "LLM_TEXT_CAP", "NAMES", "TOOLS", "Arg", "Reply", "Risk", "Tool", "ToolArgsError",
    "chip_text", "decision_format", "decision_schema", "describe", "get", "parse_index", "primary",
    "prompt_tool_list", "validate",
]

BY_NAME: dict[str, Tool] = {t.name: t for t in TOOLS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
CHIP_CHARS = 48  # an argument shown in a chip is cut to this many characters


def get(name: str) -> Tool | None:
    return BY_NAME.get(name.strip().lower()) if isinstance(name, str) else None


def validate(call: ToolCall, *, trusted: bool = False) -> ToolCall:
    """The call with clean, typed arguments (absent optional ones left out); or ToolArgsError.

    Arguments the tool does not declare are dropped. ``confirmed`` (the user's "yes" to a risky
    action) is kept only for ``risk="confirm"`` tools and only when ``trusted``: the agent sets
    it from the user's answer, never from what a model wrote.
    """
    tool = get(call.name)
    if tool is None:
        raise ToolArgsError(f"I don't know how to '{str(call.name)[:40]}'.", code="tool.unknown")
    raw = call.args if call.args is not None else {}
    if not isinstance(raw, Mapping):
        raise ToolArgsError("The tool arguments must be a set of named values.")
    clean: dict[str, Any] = {}
    for arg in tool.args:
        value = check(arg, raw.get(arg.name), tool.name)
        if value is not MISSING:
            clean[arg.name] = value
    if tool.check is not None:
        clean = tool.check(clean)
    if trusted and tool.risk == "confirm" and raw.get("confirmed") is True:
        clean["confirmed"] = True
    return ToolCall(name=tool.name, args=clean, id=call.id)


def decision_schema() -> dict[str, Any]:
    """The JSON schema the LLM's reply must follow: one tool call or a plain answer."""
    answer = {"type": "object",
              "properties": {"tool": {"const": ANSWER},
                             "args": {"type": "object",
                                      "properties": {"text": {"type": "string", "maxLength": ANSWER_TEXT_MAX}},
                                      "required": ["text"], "additionalProperties": False}},
              "required": ["tool", "args"], "additionalProperties": False}
    return {"anyOf": [*(t.schema() for t in TOOLS), answer]}


def decision_format() -> dict[str, Any]:
    """What the agent asks for: :func:`decision_schema`, and where the backend has grammars
    (``sayso.llm.grammar``), one tool-call object or the answer as plain text from its first token."""
    return {**decision_schema(), OR_TEXT: {"anyOf": [t.schema() for t in TOOLS]}}


def prompt_tool_list() -> str:
    """The tool list of the decision prompt: one line per tool, or per ``line`` group.

    In a shared line a piece that says what it does (has a ``:``) ends with ``;``, a bare
    name with ``,``: ``back, forward, reload: browser history``.
    """
    lines: list[list[str]] = []
    keys: dict[str, int] = {}
    for t in TOOLS:
        key = t.line or t.name
        if key in keys:
            lines[keys[key]].append(t.prompt)
        else:
            keys[key] = len(lines)
            lines.append([t.prompt])
    out = []
    for pieces in lines:
        text = pieces[0]
        for prev, piece in zip(pieces, pieces[1:], strict=False):
            text += ("; " if ":" in prev else ", ") + piece
        out.append(text)
    return "\n".join([*out, ANSWER_PROMPT])


def _short(value: object, limit: int = CHIP_CHARS) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown(arg: Arg | None, value: object) -> str:
    if arg is not None and arg.kind == "url":
        try:
            host = urlsplit(str(value)).netloc
        except ValueError:
            host = ""
        return host or _short(value)
    return _short(value)


def chip_text(tool: str, args: Mapping[str, Any] | None, ok: bool = True) -> str:
    """A compact, human description of one action for the web app: ``clicked 'About us'``."""
    spec = get(tool)
    a = {k: v for k, v in dict(args or {}).items() if v is not None and v != ""}
    done = str(tool).replace("_", " ")
    if spec is not None:
        for template in spec.chip:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
            if all(f in a for f in fields):
                done = template.format(**{f: _shown(spec.arg(f), a[f]) for f in fields})
                break
    return done if ok else f"could not do: {done}"


def primary(call: ToolCall) -> tuple[Arg | None, Any]:
    """The call's main argument and its value (the first declared one given), or (None, '')."""
    spec = get(call.name)
    for arg in spec.args if spec else ():
        if arg.llm and call.args.get(arg.name) not in (None, ""):
            return arg, call.args[arg.name]
    return None, ""


def describe(call: ToolCall) -> str:
    """A short description, e.g. 'navigate google.com', 'click #3' (``--dry-run`` says it)."""
    arg, value = primary(call)
    if arg is None:
        return call.name
    numbered = arg.kind == "index" and bool(arg.noun) and isinstance(value, int)  # a link's number
    shown = f"#{value}" if numbered else str(value)
    return f"{call.name} {shown}"
