"""Browser faults, injected for real, seen from the user's side of the assistant.

One real Chromium for the module. Each fault is injected on the processes this browser started
(by pid, never by name); the user hears one clean sentence, the next turn works, and at the end
no process the browser ever started is left running.
"""

from __future__ import annotations

import asyncio
import os
import signal

import psutil
import pytest

from sayso.browser.driver import DriverSession
from sayso.testsite import TestSite

from .conftest import Pages, Tracked, alive, assert_clean, turn

pytestmark = pytest.mark.slow
RESTARTED = "The browser had crashed, so I restarted it."


@pytest.fixture
async def assistant(assistant_factory, browser: Tracked, site: TestSite):  # type: ignore[no-untyped-def]
    """The assistant on the module's browser, starting from the test site's home page."""
    a = assistant_factory(browser=browser.browser)
    assert (await browser.do("navigate", url=site.url("/"))).ok
    return a


def _renderers(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if "--type=renderer" in " ".join(psutil.Process(pid).cmdline()):
                out.append(pid)
        except psutil.Error:
            continue
    return out


async def test_browser_killed_mid_turn(assistant, browser: Tracked, pages: Pages, site: TestSite) -> None:  # type: ignore[no-untyped-def]
    before = set(browser.browser.owned_pids())
    pid = browser.browser.session.owned.browser_pid
    assert (await browser.do("navigate", url=pages.url("/links.html"))).ok
    task = asyncio.ensure_future(turn(assistant, "click on slow reviews"))  # a page that takes 2 s
    await asyncio.sleep(0.8)
    os.kill(pid, signal.SIGKILL)  # the user's browser dies while the command runs
    seen = await task
    browser.note_pids()
    assert_clean(seen.reply)
    assert seen.reply.startswith(RESTARTED) or "try once more" in seen.reply, seen.reply
    assert (await browser.do("navigate", url=site.url("/"))).ok
    nxt = await turn(assistant, "click on pricing")
    assert nxt.actions_ok() == [True] and "Pricing" in nxt.reply, nxt.reply
    assert not alive(before), "the dead browser's processes were all ended"


async def test_chromedriver_killed(assistant, browser: Tracked) -> None:  # type: ignore[no-untyped-def]
    before = set(browser.browser.owned_pids())
    os.kill(browser.browser.session.owned.driver_pid, signal.SIGKILL)
    seen = await turn(assistant, "click on news")
    browser.note_pids()
    assert_clean(seen.reply)
    assert seen.actions_ok() == [True] and seen.reply.startswith(RESTARTED), seen.reply
    assert "News" in (await browser.browser.state()).title
    assert (await turn(assistant, "scroll down")).actions_ok() == [True]
    assert not alive(before)


async def test_last_window_closed(assistant, browser: Tracked) -> None:  # type: ignore[no-untyped-def]
    def close_all(s: DriverSession) -> None:
        for handle in s.driver.window_handles:
            s.driver.switch_to.window(handle)
            s.driver.close()

    await browser.browser.call(close_all)
    seen = await turn(assistant, "read the headings")
    browser.note_pids()
    assert_clean(seen.reply)
    assert seen.actions_ok() == [True] and "Welcome to the test site" in seen.reply, seen.reply
    assert (await turn(assistant, "scroll down")).actions_ok() == [True]


async def test_page_that_never_finishes_loading(assistant, browser: Tracked, site: TestSite) -> None:  # type: ignore[no-untyped-def]
    seen = await turn(assistant, "click on slow page")
    assert_clean(seen.reply)
    assert "too long" in seen.reply or "stopped waiting" in seen.reply, seen.reply
    assert (await browser.do("navigate", url=site.url("/"))).ok
    nxt = await turn(assistant, "click on about us")
    assert nxt.actions_ok() == [True] and "About" in nxt.reply, nxt.reply


async def test_page_opening_twenty_popups(assistant, browser: Tracked, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    assert (await browser.do("navigate", url=pages.url("/links.html"))).ok
    seen = await turn(assistant, "click on popup storm")
    browser.note_pids()
    assert_clean(seen.reply)
    assert seen.actions_ok() == [True], seen.reply
    assert seen.reply == ("Clicked 'Popup storm'. Now on Popup storm; it tried to open 20 pop-up windows, "
                          "so I closed them."), seen.reply
    nxt = await turn(assistant, "read the headings")  # still on the user's own tab
    assert nxt.actions_ok() == [True] and "Popup storm" in nxt.reply, nxt.reply
    assert len((await browser.browser.state()).tabs) == 1
    # opened directly (not by a click): the same
    res = await browser.do("navigate", url=pages.url("/popups.html"))
    assert res.ok and res.data["popups_closed"] == 20 and len((await browser.browser.state()).tabs) == 1
    assert (await turn(assistant, "scroll down")).actions_ok() == [True]


async def test_crashed_tab_renderer_killed(assistant, browser: Tracked, site: TestSite) -> None:  # type: ignore[no-untyped-def]
    assert (await turn(assistant, "click on news")).actions_ok() == [True]
    renderers = _renderers(browser.browser.owned_pids())
    assert renderers, "no renderer process found among the browser's own pids"
    for pid in renderers:  # chrome://crash is refused by the URL policy: kill the renderers instead
        os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.3)
    seen = await turn(assistant, "read the headings")
    browser.note_pids()
    assert_clean(seen.reply)
    assert seen.actions_ok() == [True] and "Latest news" in seen.reply, seen.reply
    assert (await turn(assistant, "scroll down")).actions_ok() == [True]
    assert not alive(set(renderers))
