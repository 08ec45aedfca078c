"""What the user says, resolved against the page in a real Chromium (the local test site).

The assistant runs for real (turns, page vocabulary, browser state); the LLM is a script that
follows the Llm protocol, since the point is what the agent lets it do.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sayso.agent.session import Assistant
from sayso.config import load_settings
from sayso.testsite import TestSite
from sayso.types import ChatMessage, LlmChunk
from tests.integration.browser.conftest import Tracked


class ScriptedLlm:
    """Replies from a script, one per chat() call, streamed a few characters at a time."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls = 0

    async def chat(self, messages: Sequence[ChatMessage], *,
                   response_format: Mapping[str, Any] | None = None,
                   max_tokens: int | None = None) -> AsyncIterator[LlmChunk]:
        self.calls += 1
        reply = self.replies.pop(0) if self.replies else '{"tool": "answer", "args": {"text": "Okay."}}'
        for i in range(0, len(reply), 4):
            yield LlmChunk(text=reply[i:i + 4])
        yield LlmChunk(done=True, finish_reason="stop", usage={})

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...


def assistant(chromium: Tracked, llm: ScriptedLlm | None = None) -> Assistant:
    return Assistant(settings=load_settings(), llm=llm, stt=None, tts=None, browser=chromium.browser)


async def say(a: Assistant, text: str) -> dict[str, Any]:
    events = [e async for e in a.text_turn(text)]
    return next(e.data for e in events if e.type == "turn-end")


async def url_of(chromium: Tracked) -> str:
    return (await chromium.browser.state()).url


async def test_show_me_the_pricing_page_clicks_the_pricing_link(chromium: Tracked, site: TestSite) -> None:
    assert (await chromium.do("navigate", url=site.url("/"))).ok
    end = await say(assistant(chromium), "Show me the pricing page.")
    assert end["actions"][0]["tool"] == "click" and end["actions"][0]["args"] == {"text": "Pricing"}
    assert end["local"] is True
    assert (await url_of(chromium)).endswith("/pricing.html")


async def test_ordinals_next_and_last_on_a_results_page(chromium: Tracked, site: TestSite) -> None:
    results = site.url("/search?q=cats")
    assert (await chromium.do("navigate", url=results)).ok
    a = assistant(chromium)
    end = await say(a, "Second one, please.")
    assert end["actions"][0]["args"] == {"index": 2} and end["actions"][0]["ok"]
    assert (await url_of(chromium)).endswith("article.html?n=2")
    end = await say(a, "The next one.")  # from the second result's page: back, then the third
    assert [x["tool"] for x in end["actions"]] == ["back", "click"]
    assert (await url_of(chromium)).endswith("article.html?n=3")
    assert (await chromium.do("navigate", url=results)).ok
    a = assistant(chromium)
    end = await say(a, "That last link.")
    assert end["actions"][0]["args"] == {"index": 5}
    assert (await url_of(chromium)).endswith("article.html?n=5")


async def test_the_llm_cannot_open_an_address_it_made_up(chromium: Tracked, site: TestSite) -> None:
    assert (await chromium.do("navigate", url=site.url("/news.html"))).ok
    before = await url_of(chromium)
    llm = ScriptedLlm(json.dumps({"tool": "navigate", "args": {"url": "https://www.sayso.com/test/home"}}))
    end = await say(assistant(chromium, llm), "Bring up the bus times.")
    assert llm.calls == 1
    (action,) = end["actions"]
    assert action["tool"] == "navigate" and action["args"] == {"url": "https://www.sayso.com/test/home"}
    assert action["ok"] is False and action["error_code"] == "url.invented"
    assert "won't open sayso.com" in end["reply"]
    assert await url_of(chromium) == before  # the browser never went there


async def test_a_misheard_site_is_recovered_without_asking_the_llm(chromium: Tracked, site: TestSite) -> None:
    llm = ScriptedLlm(json.dumps({"tool": "navigate", "args": {"url": "https://www.sayso.com/test/home"}}))
    a = assistant(chromium, llm)
    a.dry_run = True  # no internet here: what matters is the decision
    end = await say(a, "Bring up into your times.")  # Whisper's words for "the new york times"
    assert llm.calls == 0
    assert end["actions"][0]["tool"] == "navigate" and "nytimes.com" in end["actions"][0]["args"]["url"]
