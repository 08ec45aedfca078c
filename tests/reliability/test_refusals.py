"""A refused address is the answer: the user hears why, and nothing else is opened.

Real Chromium and the real embedded LLM. For each kind of refusal (a private or local address,
a scheme other than http(s), a user name and password in the address, an address that is not
valid) the turn runs twice: as the assistant runs it (the fast path may take it), and with the
fast path off so the LLM decides. Either way the reply is the policy's sentence, exactly one
navigation was tried, and the browser stayed where it was (the model used to go on to
www.google.com, and the user heard that it could not be reached).
"""

from __future__ import annotations

from typing import Any

import pytest

from sayso.agent.conversation import Conversation
from sayso.agent.turn import Turn

from .conftest import Pages, Tracked, assert_clean, settings_for, turn

pytestmark = pytest.mark.slow

REFUSALS = [
    ("private", "go to http://10.0.0.1/admin", "I won't open 10.0.0.1: it is a private or local address."),
    ("local", "open http://localhost:8080/", "I won't open localhost: it is a private or local address."),
    ("credentials", "open http://user:pass@example.com",
     "I won't open web addresses with a user name or password in them."),
    ("scheme", "open file:///etc/passwd", "I won't open file: addresses; only web pages (http and https) are allowed."),
    ("invalid", "go to http://example.com:99999/", "That web address is not valid."),
]


@pytest.fixture
async def start(browser: Tracked, pages: Pages) -> str:
    url = pages.url("/shop.html")
    assert (await browser.do("navigate", url=url)).ok
    return url


@pytest.mark.parametrize(("kind", "said", "sentence"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_a_refusal_is_said_and_ends_the_turn(assistant_factory, browser: Tracked, llm: Any, site: Any,
                                                   start: str, kind: str, said: str, sentence: str) -> None:  # type: ignore[no-untyped-def]
    assistant = assistant_factory(settings=settings_for(site, llm="embedded"), llm=llm, browser=browser.browser)
    seen = await turn(assistant, said, limit_s=240)
    assert seen.reply == sentence, (kind, seen.reply, seen.tools)
    assert seen.tools.count("navigate") <= 1 and not {"search", "click", "new_tab"} & set(seen.tools), seen.tools
    assert (await browser.browser.state()).url == start
    assert_clean(seen.reply)


@pytest.mark.parametrize(("kind", "said", "sentence"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_the_llm_gets_no_second_try_after_a_refusal(browser: Tracked, llm: Any, site: Any, start: str,
                                                          kind: str, said: str, sentence: str) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    spoken: list[str] = []
    t = Turn(settings=settings_for(site, llm="embedded"), llm=llm, browser=browser.browser,
             conversation=Conversation(), emit=lambda kind, **data: events.append((kind, data)),
             say=spoken.append, use_fastpath=False)
    out = await t.run(said)
    tools = [str(data["tool"]) for kind_, data in events if kind_ == "tool-start"]
    assert tools == ["navigate"], (kind, tools, out.reply)  # the model's one try, refused
    assert out.reply == sentence
    assert sum(1 for kind_, _ in events if kind_ == "llm-end") == 1  # and no second round
    assert (await browser.browser.state()).url == start
