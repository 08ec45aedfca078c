"""What every browser action shares: the ``@action`` registry, results, page info, waiting.

``ACTIONS`` maps each browser tool of the contract (``sayso.tools``) to its function
``fn(session, args) -> ToolResult``; a function joins it with ``@action("name")``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from selenium.common.exceptions import JavascriptException, WebDriverException

from sayso.browser.driver import DriverSession
from sayso.browser.page import CLICKABLES_JS, MAX_CLICKABLES, PAGE_INFO_JS, Clickable, to_clickables
from sayso.types import ToolResult

log = logging.getLogger(__name__)

Action = Callable[[DriverSession, dict[str, Any]], ToolResult]
ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[Action], Action]:
    """Register ``fn`` as the browser's action for the tool ``name``."""

    def register(fn: Action) -> Action:
        if name in ACTIONS:
            raise ValueError(f"two actions for the tool {name!r}")
        ACTIONS[name] = fn
        return fn

    return register


def ok(tool: str, message: str, **data: Any) -> ToolResult:
    return ToolResult(tool=tool, ok=True, message=message, data=data)


def fail(tool: str, code: str, message: str, **data: Any) -> ToolResult:
    return ToolResult(tool=tool, ok=False, message=message, data=data, error_code=code)


def quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def page_info(s: DriverSession) -> tuple[str, str, str]:
    info = s.driver.execute_script(PAGE_INFO_JS)
    if not isinstance(info, list) or len(info) != 3:  # Firefox, between two documents
        return "", "", "loading"
    url, title, ready = info
    return str(url), str(title), str(ready)


def wait_ready(s: DriverSession, *, timeout: float | None = None) -> tuple[str, str]:
    """Wait until the current document is at least interactive; returns (url, title)."""
    deadline = time.monotonic() + (timeout if timeout is not None else s.page_timeout)
    while True:
        try:
            url, title, ready = page_info(s)
        except JavascriptException:  # the document is being replaced
            url, title, ready = "", "", "loading"
        if ready != "loading" or time.monotonic() >= deadline:
            return url, title
        time.sleep(0.05)


def await_navigation(s: DriverSession, before: str, grace: float) -> tuple[str, str]:
    """After a click or Enter: give a navigation ``grace`` seconds to start, then wait for it.

    chromedriver waits for navigations a click starts; geckodriver often returns first.
    """
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            url, _title, ready = page_info(s)
        except WebDriverException:  # the old document is going away
            url, ready = "", "loading"
        if url != before or ready == "loading":
            break
        time.sleep(0.05)
    return wait_ready(s)


def page_name(url: str, title: str) -> str:
    return quote(title) if title.strip() else (urlsplit(url).hostname or url)


def close_popups(s: DriverSession, opened: list[str]) -> int:
    """Close windows a page opened by itself (``opened``); the current tab stays current."""
    d = s.driver
    current = d.current_window_handle
    n = 0
    for handle in opened:
        if handle == current:
            continue
        try:
            d.switch_to.window(handle)
            d.close()
            n += 1
        except WebDriverException:
            continue
    d.switch_to.window(current)
    log.info("closed %d pop-up windows", n)
    return n


def open_url(s: DriverSession, tool: str, url: str, *, said: str) -> ToolResult:
    handles = set(s.driver.window_handles)
    try:
        s.driver.get(url)
    except WebDriverException as exc:
        text = (exc.msg or "").lower()
        if "net::err_" in text or "neterror" in text:
            host = urlsplit(url).hostname or url
            return fail(tool, "page.unreachable", f"I couldn't reach {host}: the site is down or there is no connection.", url=url)
        raise
    cur, title = wait_ready(s, timeout=1.0)
    if cur.startswith("chrome-error:") or "neterror" in cur or title.lower() in ("problem loading page", "server not found"):
        host = urlsplit(url).hostname or url
        return fail(tool, "page.unreachable", f"I couldn't reach {host}: the site is down or there is no connection.", url=url)
    popups = [h for h in s.driver.window_handles if h not in handles]
    if popups:  # opening a page never opens other windows: close what its scripts opened
        n = close_popups(s, popups)
        return ok(tool, f"Opened {page_name(cur, title)}; it tried to open {n} pop-up windows, so I closed them.",
                  url=cur, title=title, requested=said, popups_closed=n)
    return ok(tool, f"Opened {page_name(cur, title)}.", url=cur, title=title, requested=said)


def clickables(s: DriverSession) -> list[Clickable]:
    """The page's links, buttons and fields, numbered as the user sees them."""
    return to_clickables(s.driver.execute_script(CLICKABLES_JS, MAX_CLICKABLES))
