"""What every browser action shares: the ``@action`` registry, results, page info, waiting.

``ACTIONS`` maps each browser tool of the contract (``sayso.tools``) to its function
``fn(session, args) -> ToolResult``; a function joins it with ``@action("name")``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from selenium.common.exceptions import JavascriptException, WebDriverException

from sayso.browser.driver import DriverSession
from sayso.browser.js import script
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


def watch_navigation(s: DriverSession, el: Any) -> tuple[str, bool]:
    """Before clicking ``el`` (or pressing Enter in it): (a mark for this document, whether ``el``
    submits a form). Pass the mark to :func:`await_navigation`."""
    mark = uuid.uuid4().hex
    try:
        submits = bool(s.driver.execute_script(script("watch_navigation"), el, mark))
    except WebDriverException:
        return "", False
    return mark, submits


def _navigation_state(s: DriverSession, mark: str) -> tuple[str, str, bool, str]:
    """(url, readyState, still the marked document, navigation started: '', 'same', 'cross')."""
    try:
        if not mark:
            url, _title, ready = page_info(s)
            return url, ready, True, ""
        info = s.driver.execute_script(script("navigation_state"), mark)
    except WebDriverException:  # the old document is going away
        return "", "loading", False, ""
    if not isinstance(info, list) or len(info) != 4:  # Firefox, between two documents
        return "", "loading", False, ""
    url, ready, same, nav = info
    return str(url), str(ready), bool(same), str(nav)


def await_navigation(s: DriverSession, before: str, grace: float, mark: str = "") -> tuple[str, str]:
    """After a click or Enter: wait until the navigation it caused has settled; (url, title).

    A navigation gets ``grace`` seconds to show itself (the URL changes, the document is
    replaced or loading). With the ``mark`` of :func:`watch_navigation`, a navigation the page has
    started is seen at once (even with no grace: a button whose script navigates), and then waited
    for until its new document is there, however long the server takes (up to the page-load
    timeout): the reply then describes where the browser is, not where it was. chromedriver
    waits for some navigations a click starts, not for a form's submission.
    """
    start = time.monotonic()
    deadline = start + grace
    while True:
        url, ready, same, nav = _navigation_state(s, mark)
        if url != before or ready == "loading" or not same:
            break
        if nav == "cross":  # leaving this document: the next one is on its way
            deadline = start + s.page_timeout
        if time.monotonic() >= deadline:
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
