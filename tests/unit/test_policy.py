"""URL safety, spoken site names and fuzzy link choice (no browser); tool arguments: test_tool_contract."""

from __future__ import annotations

import pytest

from sayso.browser.page import Clickable, match_clickable, strip_filler
from sayso.browser.policy import UrlPolicy, check_url
from sayso.browser.sites import search_url, site_url
from sayso.errors import UnsafeUrlError


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("javascript:alert(document.cookie)", "url.unsafe"),
        ("JavaScript:alert(1)", "url.unsafe"),
        ("file:///etc/passwd", "url.unsafe"),
        ("data:text/html;base64,PGgxPng8L2gxPg==", "url.unsafe"),
        ("chrome://settings", "url.unsafe"),
        ("chrome-extension://abc/x.html", "url.unsafe"),
        ("about:config", "url.unsafe"),
        ("view-source:https://example.org/", "url.unsafe"),
        ("blob:https://example.org/1234", "url.unsafe"),
        ("ftp://example.org/file", "url.unsafe"),
        ("http://user:secret@example.org/", "url.unsafe"),
        ("http://127.0.0.1:8080/", "url.private"),
        ("http://localhost/", "url.private"),
        ("http://printer.local/", "url.private"),
        ("http://10.0.0.8/", "url.private"),
        ("http://192.168.1.1/admin", "url.private"),
        ("http://172.16.5.4/", "url.private"),
        ("http://169.254.169.254/latest/meta-data/", "url.private"),
        ("http://[::1]/", "url.private"),
        ("http://[::ffff:127.0.0.1]/", "url.private"),
        ("http://2130706433/", "url.private"),  # 127.0.0.1 as one number
        ("http://127.1/", "url.private"),
        ("http://0x7f.0.0.1/", "url.private"),
        ("http://0.0.0.0/", "url.private"),
        ("", "url.invalid"),
        ("https://exa mple.org/", "url.invalid"),
        ("https://", "url.invalid"),
        ("https://example.org:99999/", "url.invalid"),
        ("https://" + "a" * 2100 + ".org/", "url.invalid"),
    ],
)
def test_refused_urls_say_why(url: str, code: str) -> None:
    with pytest.raises(UnsafeUrlError) as info:
        check_url(url)
    assert info.value.code == code
    assert info.value.message.endswith(".") and "\n" not in info.value.message


def test_refusal_messages_read_well() -> None:
    with pytest.raises(UnsafeUrlError, match=r"^I won't open javascript: addresses; only web pages \(http and https\) are allowed\.$"):
        check_url("javascript:void(0)")
    with pytest.raises(UnsafeUrlError) as info:
        check_url("http://192.168.1.1/")
    assert info.value.message == "I won't open 192.168.1.1: it is a private or local address."
    assert "browser_allowlist" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org", "https://example.org/"),
        ("HTTPS://Example.ORG/Path?q=1#top", "https://example.org/Path?q=1#top"),
        ("http://8.8.8.8/", "http://8.8.8.8/"),
        ("about:blank", "about:blank"),
        ("  https://en.wikipedia.org/wiki/Selenium  ", "https://en.wikipedia.org/wiki/Selenium"),
        ("https://bücher.de/", "https://bücher.de/"),
    ],
)
def test_public_urls_pass(url: str, expected: str) -> None:
    assert check_url(url) == expected


def test_allowlist_and_allow_private() -> None:
    policy = UrlPolicy(allowlist=("127.0.0.1",))
    assert policy.check("http://127.0.0.1:8123/x") == "http://127.0.0.1:8123/x"
    with pytest.raises(UnsafeUrlError):
        policy.check("http://localhost:8123/x")  # only the host that was allowed
    with pytest.raises(UnsafeUrlError):
        policy.check("file:///etc/passwd")  # allowlisting never opens other schemes
    assert UrlPolicy(allow_private=True).check("http://10.1.1.1/") == "http://10.1.1.1/"


def test_policy_from_settings() -> None:
    from sayso.config import load_settings

    policy = UrlPolicy.from_settings(load_settings(browser_allowlist=["LocalHost"]))
    assert policy.check("http://localhost/") == "http://localhost/"


@pytest.mark.parametrize(
    ("said", "url"),
    [
        ("wikipedia", "https://wikipedia.org"),
        ("Wikipedia", "https://wikipedia.org"),
        ("go to amazon", "https://amazon.com"),
        ("the guardian", "https://theguardian.com"),
        ("stackoverflow dot com", "https://stackoverflow.com"),
        ("bring up the new york times", "https://nytimes.com"),
        ("hacker news", "https://news.ycombinator.com"),
        ("the bbc news website", "https://bbc.co.uk/news"),
        ("the verge", "https://theverge.com"),
        ("example.org/docs", "https://example.org/docs"),
        ("https://example.org/a?b=c", "https://example.org/a?b=c"),
        ("localhost:8000/news.html", "http://localhost:8000/news.html"),
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("javascript:alert(1)", "javascript:alert(1)"),  # kept: the policy refuses it
    ],
)
def test_site_names(said: str, url: str) -> None:
    assert site_url(said) == url


def test_user_site_names_come_first() -> None:
    extra = {"my bank": "bank.example.com", "Wikipedia": "https://de.wikipedia.org"}
    assert site_url("open my bank", extra) == "https://bank.example.com"
    assert site_url("wikipedia", extra) == "https://de.wikipedia.org"
    assert site_url("the guardian", extra) == "https://theguardian.com"


def test_search_url_encodes_the_query() -> None:
    engine = "https://duckduckgo.com/?q={query}"
    assert search_url(engine, "vegan lasagna & more") == "https://duckduckgo.com/?q=vegan+lasagna+%26+more"
    assert search_url(engine, "javascript:alert(1)").startswith("https://duckduckgo.com/?q=javascript%3A")


def _links(*texts: str) -> list[Clickable]:
    return [Clickable(index=i, text=t, href=f"/{i}", in_view=True) for i, t in enumerate(texts, start=1)]


PAGE = _links("Home", "News", "Sport", "Weather", "Log in", "Sign up for free", "Latest news",
              "Download for Windows", "Download for Mac", "Privacy policy", "Contact us", "Pricing")


@pytest.mark.parametrize(
    ("spoken", "chosen"),
    [
        ("news", "News"),
        ("click on news", "News"),
        ("the news link please", "News"),
        ("login", "Log in"),
        ("log in button", "Log in"),
        ("sign up", "Sign up for free"),
        ("signup", "Sign up for free"),
        ("the latest news", "Latest news"),
        ("weather", "Weather"),
        ("privacy", "Privacy policy"),
        ("contact", "Contact us"),
        ("prices", "Pricing"),
        ("download for mac", "Download for Mac"),
        ("windows download", "Download for Windows"),
        ("go to sport", "Sport"),
    ],
)
def test_fuzzy_choice_of_spoken_link(spoken: str, chosen: str) -> None:
    match = match_clickable(spoken, PAGE)
    assert match.best is not None, match
    assert match.best.text == chosen


def test_close_candidates_are_a_question() -> None:
    match = match_clickable("download", PAGE)
    assert match.ambiguous and [c.text for c in match.candidates] == ["Download for Windows", "Download for Mac"]


def test_same_words_same_target_is_not_ambiguous() -> None:
    page = [Clickable(index=1, text="Home", href="/"), Clickable(index=2, text="Home", href="/")]
    assert match_clickable("home", page).best is not None


def test_nothing_close_is_not_found() -> None:
    assert match_clickable("quantum flux capacitor", PAGE).best is None
    assert not match_clickable("quantum flux capacitor", PAGE).ambiguous


def test_strip_filler() -> None:
    assert strip_filler("Click on the Login button, please!") == "login"
    assert strip_filler("the") == "the"  # all filler: keep the words
