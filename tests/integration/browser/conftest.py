"""Fixtures for the browser tests: the local test site and one real browser per module.

Every browser a test starts is closed at the end of its module, and the test then checks by pid
that none of the processes it started (driver, browser, renderers) is still running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from sayso.browser.session import SeleniumBrowser
from sayso.config import Settings, load_settings
from sayso.testsite import TestSite
from sayso.types import ToolCall, ToolResult


@pytest.fixture(scope="session")
def site() -> Iterator[TestSite]:
    with TestSite() as s:
        yield s


def browser_settings(site: TestSite, **overrides: Any) -> Settings:
    """Settings for a test browser: headless, local, 127.0.0.1 allowed, the site's search page."""
    values: dict[str, Any] = {
        "browser": "chromium",
        "browser_headless": True,
        "browser_remote_url": "",
        "browser_binary": "",
        "browser_driver": "",
        "browser_allow_private": False,
        "browser_allowlist": ["127.0.0.1"],
        "browser_page_load_timeout_s": 15.0,
        "search_engine": site.url("/search?q={query}"),
        "home_url": "about:blank",
    }
    values.update(overrides)
    return load_settings(**values)


def alive(pids: set[int]) -> list[int]:
    """The pids in ``pids`` that still run (zombies waiting for their parent do not count)."""
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            continue
    return out


class Tracked:
    """A SeleniumBrowser plus every pid it ever started, to prove none is left behind."""

    def __init__(self, browser: SeleniumBrowser) -> None:
        self.browser = browser
        self.pids: set[int] = set()

    def note_pids(self) -> None:
        self.pids.update(self.browser.owned_pids())

    async def do(self, tool: str, **args: Any) -> ToolResult:
        result = await self.browser.execute(ToolCall(name=tool, args=args))
        self.note_pids()
        return result

    async def js(self, script: str, *args: Any) -> Any:
        return await self.browser.call(lambda s: s.driver.execute_script(script, *args))

    async def aclose_and_check(self) -> None:
        self.note_pids()
        await self.browser.close()
        left = alive(self.pids)
        assert not left, f"browser processes left behind: {left}"

    def close_and_check(self) -> None:
        asyncio.run(self.aclose_and_check())


@pytest.fixture(scope="module")
def chromium(site: TestSite) -> Iterator[Tracked]:
    """One headless Chromium for the whole module."""
    tracked = Tracked(SeleniumBrowser(settings=browser_settings(site)))
    yield tracked
    tracked.close_and_check()
