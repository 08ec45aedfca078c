"""Every browser tool against a real headless Chromium and the local test site (one browser)."""

from __future__ import annotations

import pytest

from sayso.browser.base import Browser
from sayso.testsite import TestSite

from .conftest import Tracked

pytestmark = pytest.mark.slow


async def test_is_a_browser_and_launches_lazily(chromium: Tracked, site: TestSite) -> None:
    assert isinstance(chromium.browser, Browser)
    assert await chromium.browser.screenshot() is None  # nothing started yet
    res = await chromium.do("navigate", url=site.url("/"))
    assert res.ok, res.message
    assert res.message == "Opened Sayso Test Home."
    state = await chromium.browser.state()
    assert state.url == site.url("/") and state.title == "Sayso Test Home"
    assert [t.active for t in state.tabs] == [True]
    assert chromium.browser.owned_pids(), "the browser's processes are tracked by pid"


async def test_navigate_by_spoken_address(chromium: Tracked, site: TestSite) -> None:
    port = site.base_url.rsplit(":", 1)[1]
    res = await chromium.do("navigate", url=f"127.0.0.1:{port}/news.html")
    assert res.ok and (await chromium.browser.state()).title == "News - Sayso Test"
    res = await chromium.do("navigate", url=f"http://127.0.0.1:{port}/nothing-here.html")
    assert res.ok and res.data["title"] == "Not found"


@pytest.mark.parametrize(
    ("spoken", "title"),
    [
        ("news", "News - Sayso Test"),
        ("the news link", "News - Sayso Test"),
        ("login", "Log in - Sayso Test"),
        ("log in button please", "Log in - Sayso Test"),
        ("about", "About us - Sayso Test"),
        ("pricing page", "Pricing - Sayso Test"),
        ("privacy", "Privacy - Sayso Test"),
        ("download for windows", "Download windows - Sayso Test"),
        ("the long read", "A long read - Sayso Test"),
    ],
)
async def test_click_by_spoken_text(chromium: Tracked, site: TestSite, spoken: str, title: str) -> None:
    await chromium.do("navigate", url=site.url("/"))
    res = await chromium.do("click", text=spoken)
    assert res.ok, res.message
    assert (await chromium.browser.state()).title == title


async def test_click_asks_when_two_links_fit(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/"))
    res = await chromium.do("click", text="download")
    assert not res.ok and res.error_code == "click.ambiguous"
    assert res.message == "I found more than one: 'Download for Windows' or 'Download for Mac'. Which one?"
    assert [c["text"] for c in res.data["candidates"]] == ["Download for Windows", "Download for Mac"]
    assert (await chromium.browser.state()).url == site.url("/"), "nothing was clicked"
    res = await chromium.do("click", text=res.data["candidates"][1]["text"])
    assert res.ok and (await chromium.browser.state()).title == "Download mac - Sayso Test"


async def test_click_unknown_link_and_icon_button(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/"))
    res = await chromium.do("click", text="quantum flux capacitor")
    assert not res.ok and res.error_code == "click.not_found"
    assert res.message == "I couldn't find a link or button called 'quantum flux capacitor' on this page."
    res = await chromium.do("click", text="dark mode")  # an icon button named by aria-label
    assert res.ok and (await chromium.browser.state()).title == "Dark mode on"


async def test_click_result_by_number(chromium: Tracked, site: TestSite) -> None:
    res = await chromium.do("search", query="vegan lasagna")
    assert res.ok and res.message == "Here are the results for vegan lasagna."
    res = await chromium.do("click", index=3)
    assert res.ok, res.message
    assert (await chromium.browser.state()).title == "Article 3 - Sayso Test"
    await chromium.do("back")
    res = await chromium.do("click", index="#9")
    assert not res.ok and res.message == "There are only 5 results on this page."
    res = await chromium.do("click", index=1, kind="link")  # numbering of all links: "Home" first
    assert res.ok and (await chromium.browser.state()).title == "Sayso Test Home"


async def test_type_into_search_box_submits(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/"))
    res = await chromium.do("type", text="pasta recipes")
    assert res.ok and res.data["submitted"]
    assert "into the 'Search' field and submitted it" in res.message
    assert (await chromium.browser.state()).title == "pasta recipes - Search"


async def test_type_into_named_field_does_not_submit(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/form.html"))
    res = await chromium.do("type", text="ada@example.org", field="email")
    assert res.ok and res.message == "Typed 'ada@example.org' into the 'Email' field."
    res = await chromium.do("type", text="Ada", field="your name")
    assert res.ok
    values = await chromium.js("return [document.getElementById('email').value, document.getElementById('name').value]")
    assert values == ["ada@example.org", "Ada"]
    assert (await chromium.browser.state()).title == "Contact - Sayso Test"
    res = await chromium.do("type", text="x", field="favourite colour")
    assert not res.ok and res.error_code == "type.no_field"
    res = await chromium.do("type", text="hello there", field="message", submit=True)
    assert res.error_code == "confirm.required"  # a contact form, not a search box: ask first
    assert (await chromium.browser.state()).title == "Contact - Sayso Test"
    res = await chromium.do("type", text="hello there", field="message", submit=True, confirmed=True)
    assert res.ok and (await chromium.browser.state()).title == "hello there - Search"


async def test_scroll_every_direction(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/long.html"))
    res = await chromium.do("scroll", direction="up")
    assert res.ok and res.message == "Already at the top of the page."
    res = await chromium.do("scroll", direction="down")
    assert res.message == "Scrolled down." and res.data["y"] > 300
    y = await chromium.js("return window.scrollY")
    assert y == pytest.approx(res.data["y"], abs=2)
    res = await chromium.do("scroll", direction="bottom")
    assert res.message == "Scrolled to the bottom of the page."
    assert await chromium.js("return document.getElementById('end').getBoundingClientRect().top < innerHeight")
    res = await chromium.do("scroll", direction="down")
    assert res.message == "Already at the bottom of the page."
    res = await chromium.do("scroll", direction="top")
    assert res.ok and await chromium.js("return window.scrollY") == 0
    await chromium.do("navigate", url=site.url("/about.html"))
    res = await chromium.do("scroll", direction="down")
    assert res.message == "This page fits on one screen; there is nothing to scroll."


async def test_back_forward_reload(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/"))
    await chromium.do("click", text="news")
    res = await chromium.do("back")
    assert res.ok and res.message == "Went back to Sayso Test Home."
    res = await chromium.do("forward")
    assert res.ok and res.message == "Went forward to News - Sayso Test."
    res = await chromium.do("forward")
    assert not res.ok and res.message == "There's no later page to go forward to."
    await chromium.js("document.title = 'changed by script'")
    res = await chromium.do("reload")
    assert res.ok and res.message == "Reloaded News - Sayso Test."


async def test_tabs(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/newtab.html"))
    res = await chromium.do("click", text="open the article")  # a target=_blank link: followed
    assert res.ok and res.data["new_tab"]
    state = await chromium.browser.state()
    assert [t.title for t in state.tabs] == ["New tab opener - Sayso Test", "Article 42 - Sayso Test"]
    assert state.tabs[1].active
    res = await chromium.do("new_tab", url=site.url("/about.html"))
    assert res.ok and res.message == "Opened About us - Sayso Test in a new tab."
    res = await chromium.do("switch_tab", index=1)
    assert res.message == "Switched to tab 1, New tab opener - Sayso Test."
    res = await chromium.do("switch_tab", index="previous")  # wraps around to the last
    assert res.message == "Switched to tab 3, About us - Sayso Test."
    res = await chromium.do("switch_tab", index="next")
    assert res.data["tab"] == 1
    res = await chromium.do("switch_tab", index=7)
    assert not res.ok and res.message.startswith("There are only 3 tabs open: 1, New tab opener")
    await chromium.do("switch_tab", index=2)
    res = await chromium.do("close_tab")
    assert res.ok and res.message == "Closed the tab. Now on New tab opener - Sayso Test."
    assert len((await chromium.browser.state()).tabs) == 2
    await chromium.do("close_tab")
    res = await chromium.do("close_tab")  # the last one: a blank tab is left, the browser lives
    assert res.ok and "opened a blank one" in res.message
    state = await chromium.browser.state()
    assert len(state.tabs) == 1 and state.url == "about:blank"
    res = await chromium.do("new_tab")
    assert res.ok and len((await chromium.browser.state()).tabs) == 2
    await chromium.do("close_tab")


async def test_read_page_is_main_text_marked_untrusted(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/long.html"))
    res = await chromium.do("read_page")
    assert res.ok
    text = res.data["untrusted_text"]
    assert text.startswith("The history of a river town\nThis long page tells the history")
    assert "This is the end of the long read." in text
    assert "Privacy policy" not in text and "Home" not in text.split("\n")  # no nav, no footer
    assert res.message.startswith("The history of a river town") and len(res.message) <= 1500
    assert res.data["truncated"]
    res = await chromium.do("summarize_page")
    assert res.ok and res.data["text"] == text


async def test_copy_url_gives_the_page_address(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/about.html"))
    assert (await chromium.do("new_tab")).ok  # a blank tab: no address
    res = await chromium.do("copy_url")
    assert not res.ok and res.message == "No page is open, so there is no address to give."
    assert (await chromium.do("close_tab")).ok
    res = await chromium.do("copy_url")
    assert res.ok and res.data["url"] == site.url("/about.html")
    assert res.message == f"The address of About us - Sayso Test is {site.url('/about.html')}"


async def test_read_headings(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/long.html"))
    res = await chromium.do("read_headings")
    assert res.ok
    assert res.message.startswith("This page has 9 headings: The history of a river town; Origins; Early years;")
    assert res.data["headings"][0] == {"level": 1, "text": "The history of a river town"}
    await chromium.do("navigate", url="about:blank")
    res = await chromium.do("read_headings")
    assert not res.ok and res.message == "This page has no headings."


async def test_media(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/video.html"))
    video = "const v = document.getElementById('v'); return [v.paused, v.muted];"
    res = await chromium.do("media", action="play")
    assert res.ok and res.message == "Playing the video."
    assert await chromium.js(video) == [False, False]
    assert (await chromium.do("media", action="mute")).message == "Muted the video."
    assert await chromium.js(video) == [False, True]
    assert (await chromium.do("media", action="unmute")).ok
    assert (await chromium.do("media", action="pause")).message == "Paused the video."
    assert await chromium.js(video) == [True, False]
    await chromium.do("navigate", url=site.url("/about.html"))
    res = await chromium.do("media", action="play")
    assert not res.ok and res.message == "There's no video or audio on this page."


async def test_zoom(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/about.html"))
    zoom = "return getComputedStyle(document.documentElement).zoom"
    assert (await chromium.do("zoom", direction="in")).message == "Zoomed in to 110%."
    assert (await chromium.do("zoom", direction="in")).message == "Zoomed in to 125%."
    assert await chromium.js(zoom) == "1.25"
    assert (await chromium.do("zoom", direction="out")).message == "Zoomed out to 110%."
    assert (await chromium.do("zoom", direction="reset")).message == "Zoom reset to 100%."
    assert await chromium.js(zoom) == "1"


async def test_cookie_banner_is_dismissed(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/cookie.html"))
    res = await chromium.do("click", text="pricing")
    assert res.ok, res.message
    assert (await chromium.browser.state()).title == "Pricing - Sayso Test"


async def test_screenshot_is_a_viewport_jpeg(chromium: Tracked, site: TestSite) -> None:
    await chromium.do("navigate", url=site.url("/"))
    shot = await chromium.browser.screenshot()
    assert shot is not None and shot[:3] == b"\xff\xd8\xff" and len(shot) > 2000
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(shot)).size == (1280, await chromium.js("return innerHeight"))


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<h1>x</h1>", "chrome://settings",
     "about:config", "view-source:http://127.0.0.1/", "ftp://example.org/", "http://10.1.2.3/",
     "http://localhost:8000/", "http://2130706433/", "http://[::1]/", "http://user:pw@example.org/"],
)
async def test_unsafe_urls_never_open(chromium: Tracked, site: TestSite, url: str) -> None:
    await chromium.do("navigate", url=site.url("/about.html"))
    res = await chromium.do("navigate", url=url)
    assert not res.ok and res.error_code in ("url.unsafe", "url.private")
    assert res.message.startswith("I won't open")
    res = await chromium.do("new_tab", url=url)
    assert not res.ok
    state = await chromium.browser.state()
    assert state.url == site.url("/about.html") and len(state.tabs) == 1


async def test_bad_arguments_are_one_sentence(chromium: Tracked, site: TestSite) -> None:
    cases = [
        ("scroll", {"direction": "sideways"}, "'sideways' is not a direction I know for scroll: use up, down, top, bottom."),
        ("media", {}, "I need an action for media: one of play, pause, mute, unmute."),
        ("click", {}, "Tell me which link to click: its words or its number."),
        ("click", {"index": "many"}, "The link number must be a whole number, like 3."),
        ("switch_tab", {"index": 0}, "Say which tab: a number like 2, or next or previous."),
        ("type", {"text": ""}, "I need the words to type for that."),
        ("navigate", {"url": ["x"]}, "The url must be text."),
        ("teleport", {}, "I don't know how to 'teleport'."),
    ]
    for tool, args, message in cases:
        res = await chromium.do(tool, **args)
        assert not res.ok and res.message == message, (tool, res.message)
        assert res.error_code in ("tool.invalid_args", "tool.unknown")


async def test_unreachable_site_is_a_sentence(chromium: Tracked, site: TestSite) -> None:
    res = await chromium.do("navigate", url="http://127.0.0.1:9/")
    assert not res.ok and res.error_code == "page.unreachable"
    assert res.message == "I couldn't reach 127.0.0.1: the site is down or there is no connection."
    assert (await chromium.do("navigate", url=site.url("/"))).ok
