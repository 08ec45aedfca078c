"""Clicking a link or button by its words or its number (cookie banners out of the way)."""

from __future__ import annotations

import logging
import time
from typing import Any

from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
)

from sayso.browser.actions.base import (
    action,
    await_navigation,
    clickables,
    close_popups,
    fail,
    ok,
    page_info,
    page_name,
    quote,
    wait_ready,
    watch_navigation,
)
from sayso.browser.actions.risk import confirm_first, risk_of, risky_press
from sayso.browser.driver import DriverSession
from sayso.browser.js import script
from sayso.browser.page import (
    RESULTS_JS,
    Clickable,
    match_clickable,
    spoken_list,
    to_clickables,
)
from sayso.types import ToolResult

log = logging.getLogger(__name__)


CONSENT_WORDS = (
    "reject all", "only necessary", "necessary only", "decline", "accept all", "allow all",
    "accept", "agree", "i agree", "got it", "allow", "consent", "ok", "okay", "continue",
)


def dismiss_consent(s: DriverSession, target: Any) -> bool:
    """If a cookie/consent overlay covers ``target``, click its button (reject where offered)."""
    clicked = s.driver.execute_script(script("consent"), target, list(CONSENT_WORDS))
    if clicked:
        log.info("dismissed a consent banner with %r", clicked)
        time.sleep(0.05)  # let the banner's own script remove it
    return bool(clicked)


def _click_element(s: DriverSession, target: Clickable, noun: str) -> ToolResult:
    d = s.driver
    handles = set(d.window_handles)
    before, _, _ = page_info(s)
    el = target.element
    if not d.execute_script(script("reveal"), el):  # covered (a consent banner?): the driver would retry ~1 s
        dismiss_consent(s, el)
    mark, submits = watch_navigation(s, el)
    try:
        el.click()
    except ElementClickInterceptedException:
        if dismiss_consent(s, el):
            try:
                el.click()
            except ElementClickInterceptedException:
                d.execute_script("arguments[0].click();", el)
        else:
            d.execute_script("arguments[0].click();", el)
    except ElementNotInteractableException:
        d.execute_script("arguments[0].click();", el)
    except StaleElementReferenceException:
        return fail("click", "click.stale", "The page changed before I could click; please say it again.")
    name = quote(target.text) or f"{noun} {target.index}"
    opened = [h for h in d.window_handles if h not in handles]
    if len(opened) > 1:  # a pop-up storm, not a link that opens a tab: stay, close the pop-ups
        n = close_popups(s, opened)
        url, title = wait_ready(s)
        return ok("click", f"Clicked '{name}'. Now on {page_name(url, title)}; it tried to open {n} pop-up windows, "
                  "so I closed them.", url=url, title=title, popups_closed=n)
    if opened:
        d.switch_to.window(opened[-1])
        url, title = wait_ready(s)
        return ok("click", f"Clicked '{name}'; it opened {page_name(url, title)} in a new tab.", url=url, title=title, new_tab=True)
    navigates = submits or (
        target.kind == "link" and bool(target.href) and target.href.split("#")[0] != before.split("#")[0])
    url, title = await_navigation(s, before, 1.0 if navigates else 0.0, mark)
    if target.kind == "field":
        return ok("click", f"The cursor is in the '{name}' field.", url=url, title=title)
    if url != before:
        return ok("click", f"Clicked '{name}'. Now on {page_name(url, title)}.", url=url, title=title)
    return ok("click", f"Clicked '{name}'.", url=url, title=title)


@action("click")
def click(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    target = _click_target(s, args)
    if isinstance(target, ToolResult):
        return target
    choice, noun = target
    if not args.get("confirmed"):
        info = risk_of(s, choice.element)
        if risky_press(choice.text, info):
            name = quote(choice.text or info.get("label", "")) or f"{noun} {choice.index}"
            return confirm_first("click", f"Should I press '{name}'?", label=name)
    return _click_element(s, choice, noun)


def _click_target(s: DriverSession, args: dict[str, Any]) -> tuple[Clickable, str] | ToolResult:
    text, index, kind = args.get("text"), args.get("index"), args.get("kind", "auto")
    if index is not None:
        results = to_clickables(s.driver.execute_script(RESULTS_JS)) if kind in ("auto", "result") else []
        if kind == "result" or (kind == "auto" and len(results) >= 3):
            pool, noun = results, "result"
        else:
            pool, noun = [c for c in clickables(s) if c.kind != "field"], "link"
        if not pool:
            return fail("click", "click.not_found", f"There are no {noun}s on this page.")
        if index > len(pool):
            return fail("click", "click.out_of_range", f"There {'is only one' if len(pool) == 1 else f'are only {len(pool)}'} {noun}{'' if len(pool) == 1 else 's'} on this page.", count=len(pool))
        return pool[index - 1], noun
    items = clickables(s)
    match = match_clickable(text or "", items)
    if match.ambiguous:
        names = [quote(c.text) for c in match.candidates]
        return fail(
            "click", "click.ambiguous", f"I found more than one: {spoken_list(names)}. Which one?",
            candidates=[{"text": c.text, "href": c.href, "kind": c.kind} for c in match.candidates],
            untrusted_text="\n".join(c.text for c in match.candidates),
        )
    if match.best is None:
        return fail("click", "click.not_found", f"I couldn't find a link or button called '{quote(text or '')}' on this page.")
    return match.best, "link"
