"""Turns with the page vocabulary: never act on a guess, ask once, act on "yes" (fakes of the Protocols)."""

from __future__ import annotations

from typing import Any

from sayso.agent.session import REPEAT, Assistant
from sayso.browser.base import BrowserState, PageItem, TabInfo
from sayso.config import load_settings
from sayso.types import Transcript
from tests.fakes import FakeBrowser, FakeLlm, FakeStt
from tests.unit.test_agent_session import _utt, tool


class PageBrowser(FakeBrowser):
    """A FakeBrowser whose page has links (as the real browser state carries them)."""

    def __init__(self, *links: str) -> None:
        super().__init__()
        self.links = links

    async def state(self) -> BrowserState:
        items = tuple(PageItem(i, t, "link", f"{self.url}{i}", True) for i, t in enumerate(self.links, start=1))
        return BrowserState(url=self.url, title="Page", tabs=(TabInfo(1, "Page", self.url, True),), items=items)


def make(**kw: Any) -> Assistant:
    kw.setdefault("llm", None)
    kw.setdefault("stt", None)
    kw.setdefault("tts", None)
    kw.setdefault("browser", None)
    return Assistant(settings=load_settings(), **kw)


async def turn(a: Assistant, text: str) -> dict[str, Any]:
    events = [e async for e in a.text_turn(text)]
    return next(e.data for e in events if e.type == "turn-end")


async def voice(a: Assistant, text: str, logprob: float = -0.2) -> dict[str, Any]:
    a.stt = FakeStt(Transcript(text=text, avg_logprob=logprob, no_speech_prob=0.1))
    events = [e async for e in a.voice_turn(_utt())]
    return next(e.data for e in events if e.type == "turn-end")


async def test_a_weak_match_asks_once_and_acts_on_yes_only() -> None:
    browser = FakeBrowser()
    a = make(browser=browser)
    end = await turn(a, "go to the new york")
    assert end["reply"] == "Did you mean New York Times?" and browser.executed == []
    end = await turn(a, "yes please")
    assert [(c.name, dict(c.args)) for c in browser.executed] == [("navigate", {"url": "nytimes.com"})]
    end = await turn(a, "go to the new york")
    end = await turn(a, "no")
    assert end["reply"] == "Okay, I won't." and len(browser.executed) == 1
    await turn(a, "go to the new york")
    await turn(a, "scroll down")  # any other answer drops the question
    await turn(a, "yes")
    assert [c.name for c in browser.executed] == ["navigate", "scroll"]


async def test_a_confirmed_guess_is_not_a_confirmed_risky_press() -> None:
    browser = PageBrowser("Buy now", "Home")
    a = make(browser=browser)
    await turn(a, "scroll down")  # the first state read
    await voice(a, "click buy now", logprob=-1.5)  # doubtful: asked
    await turn(a, "yes")
    assert browser.executed[-1].name == "click" and "confirmed" not in browser.executed[-1].args


async def test_doubtful_speech_is_asked_about_and_nothing_reaches_the_llm() -> None:
    browser, llm = FakeBrowser(), FakeLlm(tool("navigate", url="https://example.com"))
    a = make(browser=browser, llm=llm)
    end = await voice(a, "Go to Wikipedia.", logprob=-1.3)
    assert end["reply"] == "Did you mean wikipedia.org?" and browser.executed == []
    end = await voice(a, "Yes.")
    assert browser.executed[0].args == {"url": "wikipedia.org"}
    end = await voice(a, "The cabin in scheme again.", logprob=-1.3)
    assert end["reply"] == REPEAT and llm.calls == []


async def test_the_llm_may_not_navigate_to_an_address_nobody_said() -> None:
    browser = FakeBrowser()
    llm = FakeLlm(tool("navigate", url="https://www.sayso.com/test/home"))
    end = await turn(make(browser=browser, llm=llm), "bring up the bus times")
    assert browser.executed == []
    assert end["actions"][0]["ok"] is False and "won't open sayso.com" in end["reply"]


async def test_the_llm_may_navigate_to_a_known_site_a_said_address_or_a_page_link() -> None:
    for said, url in (("what's the news in the guardian", "https://www.theguardian.com/uk"),
                      ("what is on example dot org today", "https://example.org"),
                      ("where does the docs link go", "http://127.0.0.1:1/2")):
        browser = PageBrowser("Home", "Docs")
        a = make(browser=browser, llm=FakeLlm(tool("navigate", url=url)))
        await turn(a, "scroll down")
        await turn(a, said)
        assert browser.executed[-1].name == "navigate" and browser.executed[-1].args["url"] == url, said


async def test_a_site_name_the_user_said_but_no_known_site_is_asked_about() -> None:
    browser = FakeBrowser()
    a = make(browser=browser, llm=FakeLlm(tool("navigate", url="https://www.theverge.com")))
    end = await turn(a, "take me to the verge")
    assert end["reply"] == "Did you mean theverge.com?" and browser.executed == []
    await turn(a, "yes")
    assert browser.executed[0].args["url"] == "https://www.theverge.com"


async def test_two_links_that_fit_the_words_get_one_question() -> None:
    browser = PageBrowser("Pricing for teams", "Pricing for schools", "Blog")
    a = make(browser=browser)
    await turn(a, "scroll down")
    end = await turn(a, "show me the pricing page")
    assert end["reply"] == "Which one: 'Pricing for teams' or 'Pricing for schools'?"
    assert [c.name for c in browser.executed] == ["scroll"]
