"""Tabs: new_tab, close_tab, switch_tab."""

from __future__ import annotations

import logging
from typing import Any

from sayso.browser.actions.base import (
    action,
    fail,
    ok,
    open_url,
    page_name,
    wait_ready,
)
from sayso.browser.driver import DriverSession
from sayso.browser.sites import site_url
from sayso.types import ToolResult

log = logging.getLogger(__name__)


@action("new_tab")
def new_tab(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    url = s.policy.check(site_url(args["url"], s.settings.browser_sites)) if args.get("url") else None
    s.driver.switch_to.new_window("tab")
    if url is None:
        return ok("new_tab", "Opened a new tab.", url="about:blank", title="")
    result = open_url(s, "new_tab", url, said=args["url"])
    if not result.ok:
        return result
    return ok("new_tab", f"Opened {page_name(result.data['url'], result.data['title'])} in a new tab.", **result.data)


@action("close_tab")
def close_tab(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    d = s.driver
    handles = list(d.window_handles)
    current = d.current_window_handle
    if len(handles) == 1:  # closing the last tab would end the browser: leave a blank one
        d.switch_to.new_window("tab")
        blank = d.current_window_handle
        d.switch_to.window(current)
        d.close()
        d.switch_to.window(blank)
        return ok("close_tab", "Closed the tab. No tabs are left, so I opened a blank one.", url="about:blank", title="")
    pos = handles.index(current) if current in handles else len(handles) - 1
    d.close()
    rest = [h for h in handles if h != current]
    d.switch_to.window(rest[max(0, pos - 1)])
    url, title = wait_ready(s, timeout=1.0)
    return ok("close_tab", f"Closed the tab. Now on {page_name(url, title)}.", url=url, title=title)


@action("switch_tab")
def switch_tab(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    d = s.driver
    handles = list(d.window_handles)
    current = d.current_window_handle
    pos = handles.index(current) if current in handles else 0
    target = args["index"]
    if target == "next":
        new = (pos + 1) % len(handles)
    elif target == "previous":
        new = (pos - 1) % len(handles)
    else:
        new = int(target) - 1
        if new >= len(handles):
            s.refresh_state()
            listing = "; ".join(f"{t.index}, {page_name(t.url, t.title)}" for t in s.state.tabs)
            n = len(handles)
            return fail("switch_tab", "tab.out_of_range",
                        f"There {'is only one tab' if n == 1 else f'are only {n} tabs'} open: {listing}.",
                        tabs=n)
    d.switch_to.window(handles[new])
    url, title = wait_ready(s, timeout=1.0)
    return ok("switch_tab", f"Switched to tab {new + 1}, {page_name(url, title)}.", url=url, title=title, tab=new + 1)
