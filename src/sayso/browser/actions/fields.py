"""Typing into the focused, the search or a named field (submitting a form asks first)."""

from __future__ import annotations

import logging
from typing import Any

from selenium.common.exceptions import (
    ElementNotInteractableException,
)
from selenium.webdriver.common.keys import Keys

from sayso.browser.actions.base import (
    action,
    await_navigation,
    clickables,
    fail,
    ok,
    page_info,
    page_name,
    quote,
    watch_navigation,
)
from sayso.browser.actions.risk import confirm_first, risk_of
from sayso.browser.driver import DriverSession
from sayso.browser.js import script
from sayso.browser.page import (
    match_clickable,
    spoken_list,
)
from sayso.types import ToolResult

log = logging.getLogger(__name__)


@action("type")
def type_text(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    d = s.driver
    text, field, submit = args["text"], args.get("field"), args.get("submit")
    if field:
        fields = [c for c in clickables(s) if c.kind == "field"]
        match = match_clickable(field, fields, prefer="field")
        if match.ambiguous:
            names = [quote(c.text) for c in match.candidates]
            return fail("type", "type.ambiguous", f"There is more than one field like that: {spoken_list(names)}. Which one?",
                        candidates=[c.text for c in match.candidates], untrusted_text="\n".join(c.text for c in match.candidates))
        if match.best is None:
            return fail("type", "type.no_field", f"I couldn't find a field called '{quote(field)}' on this page.")
        el, label = match.best.element, match.best.text
        is_search = bool(d.execute_script(script("is_search"), el))
    else:
        found = d.execute_script(script("field"))
        if not found:
            return fail("type", "type.no_field", "There is no text field on this page to type into.")
        el, info = found
        label, is_search = str(info.get("label") or ""), bool(info.get("search"))
    do_submit = is_search if submit is None else submit
    if do_submit:  # submitting a form other than a search box changes things: ask first
        info = risk_of(s, el)
        if info.get("form") and not info.get("search"):
            if submit is None:
                do_submit = False  # a field that looks like a search box in another form: just type
            elif not args.get("confirmed"):
                button = quote(info.get("button", "")) or "submit"
                where = f"the '{quote(label)}' field" if label else "the field"
                return confirm_first("type", f"Should I type '{quote(text)}' into {where} and press '{button}'?",
                                     label=button)
    before, _, _ = page_info(s)
    try:
        d.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", el)
        if el.tag_name.lower() in ("input", "textarea"):
            el.clear()
        el.send_keys(text)
    except ElementNotInteractableException:
        return fail("type", "type.not_editable", f"I can't type into the '{quote(label) or 'selected'}' field.")
    where = f"the '{quote(label)}' field" if label else "the field"
    if do_submit:
        mark, _ = watch_navigation(s, el)
        if el.tag_name.lower() == "textarea":  # Enter is a new line there: submit the form
            d.execute_script("const f = arguments[0].form; if (f) { f.requestSubmit ? f.requestSubmit() : f.submit(); }", el)
        else:
            el.send_keys(Keys.ENTER)
        url, title = await_navigation(s, before, 1.0, mark)
        if url != before:
            return ok("type", f"Typed '{quote(text)}' into {where} and submitted it. Now on {page_name(url, title)}.", url=url, title=title, submitted=True)
        return ok("type", f"Typed '{quote(text)}' into {where} and pressed Enter.", url=url, title=title, submitted=True)
    return ok("type", f"Typed '{quote(text)}' into {where}.", submitted=False)
