"""A click's sentence says where the browser is once the navigation it caused has settled.

Real Chromium. The buttons' navigations commit only after the server's 2 s: a form's submit
button whose page submits the form 0.3 s after the click (chromedriver returns from the click
before the navigation has even started, as it did under load in the flaky "Buy now" test: the
reply described the old page, "Clicked 'Buy now'."), a button whose script sets ``location``, and
a button that navigates nowhere, which is described as clicked on the same page.
"""

from __future__ import annotations

import pytest

from .conftest import Pages, Tracked

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("button", ["show the reviews", "jump to the reviews"])
async def test_a_button_that_navigates_is_described_after_the_new_page_is_there(
        browser: Tracked, pages: Pages, button: str) -> None:
    assert (await browser.do("navigate", url=pages.url("/slow.html"))).ok
    res = await browser.do("click", text=button, confirmed=True)  # a form's submit asks first; "yes"
    assert res.ok
    assert res.message.endswith("Now on Reviews - Sayso Test."), res.message
    assert (await browser.browser.state()).title == "Reviews - Sayso Test"


async def test_a_button_that_does_not_navigate_stays_on_its_page(browser: Tracked, pages: Pages) -> None:
    assert (await browser.do("navigate", url=pages.url("/slow.html"))).ok
    res = await browser.do("click", text="just a button")
    assert res.ok and res.message == "Clicked 'Just a button'."
    state = await browser.browser.state()
    assert state.title == "Slow forms, clicked" and state.url == pages.url("/slow.html")
