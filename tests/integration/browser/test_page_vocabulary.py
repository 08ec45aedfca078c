"""The browser state carries what the user can point at: links, buttons, fields and results."""

from __future__ import annotations

from sayso.browser.page import MAX_STATE_ITEMS
from sayso.testsite import TestSite
from tests.integration.browser.conftest import Tracked


async def test_state_lists_the_pages_links_and_results_in_the_click_tools_numbering(
        chromium: Tracked, site: TestSite) -> None:
    assert (await chromium.do("navigate", url=site.url("/"))).ok
    state = await chromium.browser.state()
    texts = [i.text for i in state.items]
    assert texts[:3] == ["News", "Pricing", "Log in"]
    assert {"link", "button", "field"} <= {i.kind for i in state.items}
    assert (await chromium.do("navigate", url=site.url("/search?q=cats"))).ok
    state = await chromium.browser.state()
    assert [r.text for r in state.results] == [f"Result {i}: {w} about cats" for i, w in enumerate(
        ("First", "Second", "Third", "Fourth", "Fifth"), start=1)]
    result = await chromium.do("click", index=2)  # the same numbering as the state's results
    assert result.ok and "n=2" in (await chromium.browser.state()).url


async def test_a_page_with_5000_links_is_capped_and_stays_cheap_to_read(chromium: Tracked, site: TestSite) -> None:
    assert (await chromium.do("navigate", url=site.url("/links?n=5000"))).ok
    state = await chromium.browser.state()
    assert len(state.items) == MAX_STATE_ITEMS
    assert 3 <= len(state.results) <= 50
    result = await chromium.do("click", index=3)
    assert result.ok and "n=3" in (await chromium.browser.state()).url
