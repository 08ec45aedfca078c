"""Checking one argument value against its :class:`~sayso.tools.spec.Arg`.

Every refusal is a :class:`~sayso.errors.ToolArgsError` carrying one sentence a person
understands. Accepted values come out normalised (trimmed, control characters removed, spoken
variants mapped to the canonical choice, numbers as ``int``), so checking twice changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from sayso.browser.policy import refuse_scheme
from sayso.errors import ToolArgsError, UnsafeUrlError
from sayso.tools.spec import Arg

MISSING: Any = object()  # the argument was not given (optional arguments are then left out)

_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")
_ORDINALS = {
    "first": 1, "one": 1, "second": 2, "two": 2, "third": 3, "three": 3, "fourth": 4, "four": 4,
    "fifth": 5, "five": 5, "sixth": 6, "six": 6, "seventh": 7, "seven": 7, "eighth": 8,
    "eight": 8, "ninth": 9, "nine": 9, "tenth": 10, "ten": 10,
}


def parse_index(value: Any) -> int | None:
    """A 1-based number from 4, "4", "#4", "number four", "the third"; None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        words = re.sub(r"[#.,]", " ", value.lower()).split()
        words = [w for w in words if w not in ("the", "number", "no", "link", "result", "tab")]
        if len(words) == 2 and words[1] == "one":  # "the first one"
            words = words[:1]
        if len(words) == 1:
            w = words[0]
            if w.isdigit():
                return int(w)
            m = re.fullmatch(r"(\d+)(st|nd|rd|th)", w)
            if m:
                return int(m.group(1))
            return _ORDINALS.get(w)
    return None


def _an(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def check(arg: Arg, value: Any, tool: str) -> Any:
    """The clean value of ``arg``, ``MISSING`` when an optional one is absent; or refuse."""
    absent = value is None or (isinstance(value, str) and not value.strip())
    if arg.kind == "choice":
        return _choice(arg, value, tool, absent)
    if arg.kind == "index":
        return _index(arg, value, absent)
    if absent:
        if arg.required:
            raise ToolArgsError(f"I need {arg.what or _an(arg.name)} for that.")
        return MISSING
    if arg.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
            return value.strip().lower() in _TRUE
        raise ToolArgsError(f"The {arg.name} must be true or false.")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ToolArgsError(f"The {arg.name} must be text.")
    text = _CTRL.sub(" ", str(value)).strip()
    if len(text) > arg.max_len:
        raise ToolArgsError(f"The {arg.name} is too long (at most {arg.max_len} characters).")
    if arg.kind == "url":
        try:
            refuse_scheme(text)
        except UnsafeUrlError as exc:
            raise ToolArgsError(exc.message, code=exc.code) from exc
    return text


def _choice(arg: Arg, value: Any, tool: str, absent: bool) -> Any:
    allowed = ", ".join(arg.choices)
    if absent or not isinstance(value, str):
        if absent and not arg.required:
            return MISSING
        raise ToolArgsError(f"I need {_an(arg.name)} for {tool}: one of {allowed}.")
    word = " ".join(value.lower().split())
    word = arg.aliases.get(word, word)
    if word not in arg.choices:
        raise ToolArgsError(f"'{word[:40]}' is not {_an(arg.name)} I know for {tool}: use {allowed}.")
    return word


def _index(arg: Arg, value: Any, absent: bool) -> Any:
    if absent:
        if arg.required:
            raise ToolArgsError(arg.bad or f"I need {arg.what or 'a number'} for that.")
        return MISSING
    if isinstance(value, str):
        word = " ".join(value.lower().split())
        word = arg.aliases.get(word, word)
        if word in arg.choices:
            return word
    number = parse_index(value)
    if number is None:
        raise ToolArgsError(arg.bad or f"The {arg.noun} must be a whole number, like 3.")
    if number < 1:
        raise ToolArgsError(arg.bad or f"The {arg.noun} must be 1 or more.")
    if number > arg.max:
        raise ToolArgsError(arg.bad or f"The {arg.noun} must be at most {arg.max}.")
    return number
