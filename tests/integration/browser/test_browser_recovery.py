"""The browser never wedges: crashes, kills, closed windows and hung pages (real Chromium).

One browser for the module, on purpose: every scenario must leave it usable for the next one.
Each kill is by the pid this browser started (never by name), and no process may be left.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator

import pytest

from sayso.browser import driver as driver_mod
from sayso.browser.session import SeleniumBrowser
from sayso.testsite import TestSite
from sayso.types import ToolCall

from .conftest import Tracked, alive, browser_settings

pytestmark = pytest.mark.slow
RESTARTED = "The browser had crashed, so I restarted it. "


@pytest.fixture(scope="module")
def tracked(site: TestSite) -> Iterator[Tracked]:
    browser = SeleniumBrowser(settings=browser_settings(site, browser_page_load_timeout_s=5.0), watchdog_s=60.0)
    t = Tracked(browser)
    yield t
    t.close_and_check()


def _one_blank_tab(s: driver_mod.DriverSession) -> None:
    handles = s.driver.window_handles
    for handle in handles[1:]:
        s.driver.switch_to.window(handle)
        s.driver.close()
    s.driver.switch_to.window(handles[0])
    s.driver.get("about:blank")
    s.refresh_state()


@pytest.fixture
async def relaunches(tracked: Tracked) -> AsyncIterator[list[str]]:
    """Each test starts on one blank tab (when a browser runs) and counts the relaunches."""
    if tracked.browser.session.started and not tracked.browser.session.preflight():
        await tracked.browser.call(_one_blank_tab)
    reasons: list[str] = []
    unsubscribe = driver_mod.on_relaunch(reasons.append)
    yield reasons
    unsubscribe()


async def _two_tabs(t: Tracked, site: TestSite) -> None:
    assert (await t.do("navigate", url=site.url("/"))).ok
    assert (await t.do("new_tab", url=site.url("/news.html"))).ok


async def _assert_restored(t: Tracked, site: TestSite) -> None:
    state = await t.browser.state()
    assert [tab.url for tab in state.tabs] == [site.url("/"), site.url("/news.html")]
    assert state.tabs[1].active and state.title == "News - Sayso Test"


async def test_killed_browser_process(tracked: Tracked, site: TestSite, relaunches: list[str]) -> None:
    await _two_tabs(tracked, site)
    before = set(tracked.browser.owned_pids())
    total = driver_mod.relaunch_count()
    os.kill(tracked.browser.session.owned.browser_pid, signal.SIGKILL)
    res = await tracked.do("read_headings")
    assert res.ok and res.message.startswith(RESTARTED + "This page has 3 headings: Latest news;")
    assert res.data["relaunched"] is True
    await _assert_restored(tracked, site)
    assert not alive(before), "the crashed browser's processes were all ended"
    assert relaunches and driver_mod.relaunch_count() == total + 1
    assert tracked.browser.relaunches >= 1


async def test_killed_chromedriver(tracked: Tracked, site: TestSite, relaunches: list[str]) -> None:
    await _two_tabs(tracked, site)
    await tracked.do("close_tab")
    before = set(tracked.browser.owned_pids())
    os.kill(tracked.browser.session.owned.driver_pid, signal.SIGKILL)
    res = await tracked.do("click", text="news")
    assert res.ok and res.message.startswith(RESTARTED + "Clicked 'News'.")
    assert (await tracked.browser.state()).title == "News - Sayso Test"
    assert not alive(before)
    assert len(relaunches) == 1


async def test_last_window_closed(tracked: Tracked, site: TestSite, relaunches: list[str]) -> None:
    await _two_tabs(tracked, site)

    def close_every_window(s: driver_mod.DriverSession) -> None:
        for handle in s.driver.window_handles:
            s.driver.switch_to.window(handle)
            s.driver.close()

    await tracked.browser.call(close_every_window)
    res = await tracked.do("scroll", direction="down")
    assert res.ok and res.message.startswith(RESTARTED)
    await _assert_restored(tracked, site)
    assert len(relaunches) == 1


async def test_user_closed_the_current_tab(tracked: Tracked, site: TestSite, relaunches: list[str]) -> None:
    await _two_tabs(tracked, site)
    await tracked.browser.call(lambda s: s.driver.close())  # the user closes the tab we are on
    res = await tracked.do("read_headings")
    assert res.ok and res.message.startswith("That tab was closed, so I used the one that is open. ")
    assert "Welcome to the test site" in res.message
    assert not relaunches, "no relaunch is needed when another tab is open"
    state = await tracked.browser.state()
    assert [t.url for t in state.tabs] == [site.url("/")]


async def test_crashed_tab(tracked: Tracked, site: TestSite, relaunches: list[str]) -> None:
    await tracked.do("navigate", url=site.url("/about.html"))

    def crash_the_tab(s: driver_mod.DriverSession) -> None:
        try:
            s.driver.get("chrome://crash")  # straight to the driver: the policy refuses chrome:
        except Exception as exc:
            assert "crash" in str(exc)

    await tracked.browser.call(crash_the_tab)
    res = await tracked.do("read_page")
    assert res.ok and res.message == RESTARTED + "About us\nWe build quiet, private tools."
    assert len(relaunches) == 1


async def test_page_that_never_finishes_loading(tracked: Tracked, site: TestSite, relaunches: list[str]) -> None:
    await tracked.do("navigate", url=site.url("/"))
    res = await tracked.do("navigate", url=site.url("/slow"))
    assert not res.ok and res.error_code == "page.timeout"
    assert res.message == "The page took too long to load, so I stopped waiting for it."
    res = await tracked.do("read_headings")  # the stopped page is usable
    assert res.ok and res.message == "This page has 1 heading: Still loading."
    res = await tracked.do("navigate", url=site.url("/news.html"))
    assert res.ok and not relaunches
    # after a crash, the page that hung is not reopened
    await tracked.do("new_tab", url=site.url("/slow"))
    os.kill(tracked.browser.session.owned.browser_pid, signal.SIGKILL)
    res = await tracked.do("read_headings")
    assert res.ok and res.message.startswith(RESTARTED)
    assert [t.url for t in (await tracked.browser.state()).tabs] == [site.url("/news.html")]


async def test_page_whose_script_never_stops(tracked: Tracked, site: TestSite, relaunches: list[str]) -> None:
    assert (await tracked.do("navigate", url=site.url("/news.html"))).ok
    assert (await tracked.do("new_tab", url=site.url("/busy.html"))).ok
    await asyncio.sleep(0.6)  # the page's endless loop has started
    res = await tracked.do("read_headings")
    assert not res.ok and res.error_code == "page.wedged"
    assert res.message == "The page stopped responding, so I closed it and restarted the browser."
    res = await tracked.do("read_headings")
    assert res.ok and res.message.startswith("This page has 3 headings: Latest news;")
    assert [t.url for t in (await tracked.browser.state()).tabs] == [site.url("/news.html")]
    assert len(relaunches) == 1


async def test_frozen_driver_trips_the_watchdog(tracked: Tracked, site: TestSite, relaunches: list[str]) -> None:
    assert (await tracked.do("navigate", url=site.url("/"))).ok
    driver_pid = tracked.browser.session.owned.driver_pid
    tracked.browser.watchdog_s = 3.0
    try:
        os.kill(driver_pid, signal.SIGSTOP)  # the driver stops answering: calls would hang 30 s
        res = await tracked.do("scroll", direction="down")
    finally:
        tracked.browser.watchdog_s = 60.0
        if alive({driver_pid}):
            os.kill(driver_pid, signal.SIGCONT)
    assert not res.ok and res.error_code == "browser.unresponsive"
    assert res.message == "The browser stopped responding, so I closed it; it will start again with your next command."
    assert not alive({driver_pid})
    res = await tracked.do("navigate", url=site.url("/pricing.html"))
    assert res.ok and res.message == "Opened Pricing - Sayso Test."


async def test_browser_that_cannot_start(site: TestSite) -> None:
    browser = SeleniumBrowser(settings=browser_settings(site, browser_binary="/nonexistent/chromium"))
    try:
        res = await browser.execute(ToolCall(name="navigate", args={"url": site.url("/")}))
        assert not res.ok and res.error_code == "browser.launch_failed"
        assert res.message.startswith("I couldn't start the browser (chromium): ")
        assert "sayso doctor" in res.message
        assert browser.owned_pids() == []
    finally:
        await browser.close()
