"""Reading the page: read_page, summarize_page, read_headings, copy_url (page text is data)."""

from __future__ import annotations

import logging
import re
from typing import Any

from sayso.browser.actions.base import (
    action,
    fail,
    ok,
    page_info,
    page_name,
    quote,
)
from sayso.browser.driver import DriverSession
from sayso.browser.page import (
    HEADINGS_JS,
    MAIN_TEXT_JS,
    MAX_TEXT_CHARS,
)
from sayso.types import ToolResult

log = logging.getLogger(__name__)


SPOKEN_CHARS = 1500  # how much of a page read_page says before stopping


def _main_text(s: DriverSession) -> str:
    return str(s.driver.execute_script(MAIN_TEXT_JS, MAX_TEXT_CHARS) or "")


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """Page text fit to say: no control characters or runs of spaces, cut at a sentence."""
    text = re.sub(r"[ \t]+", " ", re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)).strip()
    if len(text) <= limit:
        return text, False
    head = text[:limit]
    stop = max(head.rfind(". "), head.rfind(".\n"), head.rfind("\n"))
    return (head[: stop + 1] if stop > limit // 2 else head).rstrip(), True


@action("read_page")
def read_page(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    text = _main_text(s)
    url, title, _ = page_info(s)
    if not text.strip():
        return fail("read_page", "page.empty", "This page has no text to read.", url=url, title=title)
    spoken, more = _cut(text, SPOKEN_CHARS)
    return ok("read_page", spoken, text=text, untrusted_text=text, url=url, title=title, truncated=more, chars=len(text))


@action("summarize_page")
def summarize_page(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    text = _main_text(s)
    url, title, _ = page_info(s)
    if not text.strip():
        return fail("summarize_page", "page.empty", "This page has no text to summarise.", url=url, title=title)
    return ok("summarize_page", f"Here is the text of {page_name(url, title)} to summarise.",
              text=text, untrusted_text=text, url=url, title=title, chars=len(text))


@action("read_headings")
def read_headings(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    heads = s.driver.execute_script(HEADINGS_JS) or []
    if not heads:
        return fail("read_headings", "page.no_headings", "This page has no headings.")
    names = [quote(h["text"], 80) for h in heads]
    shown = names[:20]
    more = f", and {len(names) - 20} more" if len(names) > 20 else ""
    n = len(names)
    message = f"This page has {n} heading{'s' if n != 1 else ''}: " + "; ".join(shown) + more + "."
    return ok("read_headings", message, headings=heads, untrusted_text="\n".join(h["text"] for h in heads))


@action("copy_url")
def copy_url(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    """The current page's address in the reply, for the user to read or copy from the chat."""
    url, title, _ = page_info(s)
    if not url or url == "about:blank":
        return fail("copy_url", "page.none", "No page is open, so there is no address to give.", url=url)
    return ok("copy_url", f"The address of {page_name(url, title)} is {url}", url=url, title=title)
