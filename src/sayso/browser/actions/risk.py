"""Risky presses: buying, paying, deleting, sending, submitting a form that is not a search.

The action asks first (``confirm.required``); the user's own "yes" repeats it ``confirmed``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sayso.browser.actions.base import (
    fail,
)
from sayso.browser.driver import DriverSession
from sayso.browser.js import script
from sayso.types import ToolResult

log = logging.getLogger(__name__)


RISKY_WORDS = re.compile(
    r"\b(buy|pay|purchase|order|checkout|check out|delete|remove|erase|send|submit|transfer|donate|"
    r"subscribe|unsubscribe|confirm|place order)\b", re.I)

def risk_of(s: DriverSession, element: Any) -> dict[str, Any]:
    """What pressing ``element`` (or submitting its form) would do: label, form, search form."""
    info = s.driver.execute_script(script("risk"), element)
    return dict(info) if isinstance(info, dict) else {}


def risky_press(label: str, info: dict[str, Any]) -> bool:
    """Buy/pay/delete/send... labels, and submitting any form that is not a search box."""
    return bool(RISKY_WORDS.search(label or info.get("label", ""))) or (
        bool(info.get("submits")) and not info.get("search"))


def confirm_first(tool: str, message: str, **data: Any) -> ToolResult:
    """The action changes something on the web: ask the user (the agent remembers the call)."""
    return fail(tool, "confirm.required", message, **data)
