"""Opening pages: navigate, search, and the history (back, forward, reload)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sayso.browser.actions.base import (
    action,
    fail,
    ok,
    open_url,
    page_info,
    page_name,
    quote,
    wait_ready,
)
from sayso.browser.driver import DriverSession
from sayso.browser.sites import search_url, site_url
from sayso.types import ToolResult

log = logging.getLogger(__name__)


@action("navigate")
def navigate(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    said = args["url"]
    url = s.policy.check(site_url(said, s.settings.browser_sites))
    return open_url(s, "navigate", url, said=said)


@action("search")
def search(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    url = s.policy.check(search_url(s.settings.search_engine, args["query"]))
    result = open_url(s, "search", url, said=args["query"])
    if not result.ok:
        return result
    return ok("search", f"Here are the results for {quote(args['query'])}.", **result.data)


def _history(s: DriverSession, tool: str, step: Callable[[], None], gone: str, done: str) -> ToolResult:
    before, _, _ = page_info(s)
    step()
    url, title = wait_ready(s)
    if url == before and tool != "reload":
        return fail(tool, "history.none", gone, url=url, title=title)
    return ok(tool, done.format(where=page_name(url, title)), url=url, title=title)


@action("back")
def back(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    return _history(s, "back", s.driver.back, "There's no earlier page in this tab.", "Went back to {where}.")


@action("forward")
def forward(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    return _history(s, "forward", s.driver.forward, "There's no later page to go forward to.", "Went forward to {where}.")


@action("reload")
def reload(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    return _history(s, "reload", s.driver.refresh, "", "Reloaded {where}.")
