"""What a tool declaration is made of: :class:`Arg` and :class:`Tool`.

A :class:`Tool` says everything the rest of sayso needs to know about one tool: its typed
arguments with their limits, its risk, its line in the LLM's prompt, the chip the web app
shows, and how its result becomes the reply. ``sayso.tools`` generates the LLM's JSON
schema, the prompt's tool list, argument validation and chip texts from these declarations;
the browser only executes (``browser/actions/``) and checks URLs (``browser/policy.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ArgKind = Literal["text", "url", "choice", "index", "bool"]

# safe: just do it. confirm: the browser may answer ``confirm.required`` ("Should I press
# 'Buy now'?"); the user's own "yes" repeats the call with ``confirmed``.
Risk = Literal["safe", "confirm"]

# message: the browser's one sentence is the reply. page_text: the result's message is text
# copied from the page (untrusted data) read out as it is. summary: the LLM summarises the
# page text in ``data["text"]``. silent: nothing to say (``stop``). Only ``message`` tools may
# be followed by another step in the same turn ("open wikipedia and then search cats").
Reply = Literal["message", "page_text", "summary", "silent"]

LLM_TEXT_CAP = 300  # the most characters the LLM may write for one string (bounds its grammar)


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument: its kind and limits, and the words used when it is wrong."""

    name: str
    kind: ArgKind
    required: bool = False
    max_len: int = 200  # text, url: characters after trimming
    choices: tuple[str, ...] = ()  # choice: the values; index: words allowed besides numbers
    aliases: Mapping[str, str] = field(default_factory=dict)  # spoken variants -> a choice
    max: int = 999  # index: 1..max
    what: str = ""  # "I need {what} for that." when a required value is missing
    noun: str = ""  # index: "The {noun} must be a whole number, like 3."
    bad: str = ""  # index: one sentence for every wrong value, instead of the above
    llm: bool = True  # offered to the LLM (schema); False: for callers in code only

    def schema(self) -> dict[str, Any]:
        """This argument's JSON schema for the LLM."""
        if self.kind in ("text", "url"):
            return {"type": "string", "minLength": 1, "maxLength": min(self.max_len, LLM_TEXT_CAP)}
        if self.kind == "choice":
            return {"enum": list(self.choices)}
        if self.kind == "bool":
            return {"type": "boolean"}
        number = {"type": "integer", "minimum": 1, "maximum": self.max}
        return {"anyOf": [number, {"enum": list(self.choices)}]} if self.choices else number


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool of the contract (ARCHITECTURE.md section 4), declared once."""

    name: str
    summary: str  # what it does, one line (docs, native tool specs)
    prompt: str  # its piece of the prompt's tool list, e.g. 'navigate {"url"}: open a website'
    chip: tuple[str, ...]  # past-tense chip texts; the first whose {arg}s are all given is used
    args: tuple[Arg, ...] = ()
    line: str = ""  # tools with the same line share one prompt line (default: own line)
    risk: Risk = "safe"
    reply: Reply = "message"
    browser: bool = True  # executed by the browser (``stop`` is the agent's own)
    check: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # rule across arguments

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)

    def schema(self) -> dict[str, Any]:
        """The JSON schema of ``{"tool": name, "args": {...}}`` for this tool."""
        shown = [a for a in self.args if a.llm]
        if shown:
            args: dict[str, Any] = {
                "type": "object", "properties": {a.name: a.schema() for a in shown},
                "required": [a.name for a in shown if a.required], "additionalProperties": False,
            }
        else:
            args = {"type": "object", "properties": {}, "additionalProperties": False}
        return {"type": "object", "properties": {"tool": {"const": self.name}, "args": args},
                "required": ["tool", "args"], "additionalProperties": False}
