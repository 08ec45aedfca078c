"""One function per browser tool: ``fn(session, args) -> ToolResult``.

Arguments arrive already checked by the tool contract (``sayso.tools.validate``: optional
arguments that were not given are absent). Adding a tool: declare it in ``sayso/tools/catalog.py``,
write its function here and add it to ``ACTIONS``. These functions run in the
session's worker thread and may raise Selenium errors: ``session.py`` turns crashes into a
relaunch and everything else into a one-sentence ``ToolResult``. Page text in results is
marked ``data["untrusted_text"]``: it is data to read or summarise, never instructions.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    JavascriptException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.common.keys import Keys

from sayso.browser.driver import DriverSession
from sayso.browser.page import (
    CLICKABLES_JS,
    HEADINGS_JS,
    MAIN_TEXT_JS,
    MAX_CLICKABLES,
    MAX_TEXT_CHARS,
    PAGE_INFO_JS,
    RESULTS_JS,
    Clickable,
    match_clickable,
    spoken_list,
    to_clickables,
)
from sayso.browser.sites import search_url, site_url
from sayso.types import ToolResult

log = logging.getLogger(__name__)

SPOKEN_CHARS = 1500  # how much of a page read_page says before stopping
ZOOM_LEVELS = (0.5, 0.67, 0.75, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)
CONSENT_WORDS = (
    "reject all", "only necessary", "necessary only", "decline", "accept all", "allow all",
    "accept", "agree", "i agree", "got it", "allow", "consent", "ok", "okay", "continue",
)

Action = Callable[[DriverSession, dict[str, Any]], ToolResult]


def ok(tool: str, message: str, **data: Any) -> ToolResult:
    return ToolResult(tool=tool, ok=True, message=message, data=data)


def fail(tool: str, code: str, message: str, **data: Any) -> ToolResult:
    return ToolResult(tool=tool, ok=False, message=message, data=data, error_code=code)


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _page_info(s: DriverSession) -> tuple[str, str, str]:
    info = s.driver.execute_script(PAGE_INFO_JS)
    if not isinstance(info, list) or len(info) != 3:  # Firefox, between two documents
        return "", "", "loading"
    url, title, ready = info
    return str(url), str(title), str(ready)


def wait_ready(s: DriverSession, *, timeout: float | None = None) -> tuple[str, str]:
    """Wait until the current document is at least interactive; returns (url, title)."""
    deadline = time.monotonic() + (timeout if timeout is not None else s.page_timeout)
    while True:
        try:
            url, title, ready = _page_info(s)
        except JavascriptException:  # the document is being replaced
            url, title, ready = "", "", "loading"
        if ready != "loading" or time.monotonic() >= deadline:
            return url, title
        time.sleep(0.05)


def await_navigation(s: DriverSession, before: str, grace: float) -> tuple[str, str]:
    """After a click or Enter: give a navigation ``grace`` seconds to start, then wait for it.

    chromedriver waits for navigations a click starts; geckodriver often returns first.
    """
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            url, _title, ready = _page_info(s)
        except WebDriverException:  # the old document is going away
            url, ready = "", "loading"
        if url != before or ready == "loading":
            break
        time.sleep(0.05)
    return wait_ready(s)


def _where(url: str, title: str) -> str:
    return _quote(title) if title.strip() else (urlsplit(url).hostname or url)


def close_popups(s: DriverSession, opened: list[str]) -> int:
    """Close windows a page opened by itself (``opened``); the current tab stays current."""
    d = s.driver
    current = d.current_window_handle
    n = 0
    for handle in opened:
        if handle == current:
            continue
        try:
            d.switch_to.window(handle)
            d.close()
            n += 1
        except WebDriverException:
            continue
    d.switch_to.window(current)
    log.info("closed %d pop-up windows", n)
    return n


def _open(s: DriverSession, tool: str, url: str, *, said: str) -> ToolResult:
    handles = set(s.driver.window_handles)
    try:
        s.driver.get(url)
    except WebDriverException as exc:
        text = (exc.msg or "").lower()
        if "net::err_" in text or "neterror" in text:
            host = urlsplit(url).hostname or url
            return fail(tool, "page.unreachable", f"I couldn't reach {host}: the site is down or there is no connection.", url=url)
        raise
    cur, title = wait_ready(s, timeout=1.0)
    if cur.startswith("chrome-error:") or "neterror" in cur or title.lower() in ("problem loading page", "server not found"):
        host = urlsplit(url).hostname or url
        return fail(tool, "page.unreachable", f"I couldn't reach {host}: the site is down or there is no connection.", url=url)
    popups = [h for h in s.driver.window_handles if h not in handles]
    if popups:  # opening a page never opens other windows: close what its scripts opened
        n = close_popups(s, popups)
        return ok(tool, f"Opened {_where(cur, title)}; it tried to open {n} pop-up windows, so I closed them.",
                  url=cur, title=title, requested=said, popups_closed=n)
    return ok(tool, f"Opened {_where(cur, title)}.", url=cur, title=title, requested=said)


# ---------------------------------------------------------------- navigation


def navigate(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    said = args["url"]
    url = s.policy.check(site_url(said, s.settings.browser_sites))
    return _open(s, "navigate", url, said=said)


def search(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    url = s.policy.check(search_url(s.settings.search_engine, args["query"]))
    result = _open(s, "search", url, said=args["query"])
    if not result.ok:
        return result
    return ok("search", f"Here are the results for {_quote(args['query'])}.", **result.data)


def _history(s: DriverSession, tool: str, step: Callable[[], None], gone: str, done: str) -> ToolResult:
    before, _, _ = _page_info(s)
    step()
    url, title = wait_ready(s)
    if url == before and tool != "reload":
        return fail(tool, "history.none", gone, url=url, title=title)
    return ok(tool, done.format(where=_where(url, title)), url=url, title=title)


def back(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    return _history(s, "back", s.driver.back, "There's no earlier page in this tab.", "Went back to {where}.")


def forward(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    return _history(s, "forward", s.driver.forward, "There's no later page to go forward to.", "Went forward to {where}.")


def reload(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    return _history(s, "reload", s.driver.refresh, "", "Reloaded {where}.")


# ---------------------------------------------------------------- tabs


def new_tab(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    url = s.policy.check(site_url(args["url"], s.settings.browser_sites)) if args.get("url") else None
    s.driver.switch_to.new_window("tab")
    if url is None:
        return ok("new_tab", "Opened a new tab.", url="about:blank", title="")
    result = _open(s, "new_tab", url, said=args["url"])
    if not result.ok:
        return result
    return ok("new_tab", f"Opened {_where(result.data['url'], result.data['title'])} in a new tab.", **result.data)


def close_tab(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    d = s.driver
    handles = list(d.window_handles)
    current = d.current_window_handle
    if len(handles) == 1:  # closing the last tab would end the browser: leave a blank one
        d.switch_to.new_window("tab")
        blank = d.current_window_handle
        d.switch_to.window(current)
        d.close()
        d.switch_to.window(blank)
        return ok("close_tab", "Closed the tab. No tabs are left, so I opened a blank one.", url="about:blank", title="")
    pos = handles.index(current) if current in handles else len(handles) - 1
    d.close()
    rest = [h for h in handles if h != current]
    d.switch_to.window(rest[max(0, pos - 1)])
    url, title = wait_ready(s, timeout=1.0)
    return ok("close_tab", f"Closed the tab. Now on {_where(url, title)}.", url=url, title=title)


def switch_tab(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    d = s.driver
    handles = list(d.window_handles)
    current = d.current_window_handle
    pos = handles.index(current) if current in handles else 0
    target = args["index"]
    if target == "next":
        new = (pos + 1) % len(handles)
    elif target == "previous":
        new = (pos - 1) % len(handles)
    else:
        new = int(target) - 1
        if new >= len(handles):
            s.refresh_state()
            listing = "; ".join(f"{t.index}, {_where(t.url, t.title)}" for t in s.state.tabs)
            n = len(handles)
            return fail("switch_tab", "tab.out_of_range",
                        f"There {'is only one tab' if n == 1 else f'are only {n} tabs'} open: {listing}.",
                        tabs=n)
    d.switch_to.window(handles[new])
    url, title = wait_ready(s, timeout=1.0)
    return ok("switch_tab", f"Switched to tab {new + 1}, {_where(url, title)}.", url=url, title=title, tab=new + 1)


# ---------------------------------------------------------------- clicking


def _clickables(s: DriverSession) -> list[Clickable]:
    return to_clickables(s.driver.execute_script(CLICKABLES_JS, MAX_CLICKABLES))


_CONSENT_JS = r"""
const target = arguments[0], words = arguments[1];
const r = target.getBoundingClientRect();
let node = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
if (!node || target === node || target.contains(node)) return null;
// the overlay: the outermost fixed/sticky/absolute ancestor of what covers the target
let overlay = null;
for (let n = node; n && n !== document.body; n = n.parentElement) {
  const pos = getComputedStyle(n).position;
  if (pos === 'fixed' || pos === 'sticky' || pos === 'absolute') overlay = n;
}
overlay = overlay || node;
if (!/cookie|consent|privacy|gdpr|tracking|personal data|partners/i.test(overlay.innerText || '')) return null;
const buttons = Array.from(overlay.querySelectorAll('button,a,[role=button],input[type=submit],input[type=button]'));
const label = (b) => (b.innerText || b.value || b.getAttribute('aria-label') || '').replace(/\s+/g, ' ').trim().toLowerCase();
for (const w of words) {
  for (const b of buttons) {
    const t = label(b);
    if (t === w || (t.length <= 30 && t.startsWith(w))) { b.click(); return t; }
  }
}
return null;
"""


def dismiss_consent(s: DriverSession, target: Any) -> bool:
    """If a cookie/consent overlay covers ``target``, click its button (reject where offered)."""
    clicked = s.driver.execute_script(_CONSENT_JS, target, list(CONSENT_WORDS))
    if clicked:
        log.info("dismissed a consent banner with %r", clicked)
        time.sleep(0.05)  # let the banner's own script remove it
    return bool(clicked)


_REVEAL_JS = r"""
const el = arguments[0];
el.scrollIntoView({block: 'center', inline: 'nearest'});
const r = el.getBoundingClientRect();
const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
return !top || el === top || el.contains(top) || top.contains(el);
"""


def _click_element(s: DriverSession, target: Clickable, noun: str) -> ToolResult:
    d = s.driver
    handles = set(d.window_handles)
    before, _, _ = _page_info(s)
    el = target.element
    if not d.execute_script(_REVEAL_JS, el):  # covered (a consent banner?): the driver would retry ~1 s
        dismiss_consent(s, el)
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
    name = _quote(target.text) or f"{noun} {target.index}"
    opened = [h for h in d.window_handles if h not in handles]
    if len(opened) > 1:  # a pop-up storm, not a link that opens a tab: stay, close the pop-ups
        n = close_popups(s, opened)
        url, title = wait_ready(s)
        return ok("click", f"Clicked '{name}'. Now on {_where(url, title)}; it tried to open {n} pop-up windows, "
                  "so I closed them.", url=url, title=title, popups_closed=n)
    if opened:
        d.switch_to.window(opened[-1])
        url, title = wait_ready(s)
        return ok("click", f"Clicked '{name}'; it opened {_where(url, title)} in a new tab.", url=url, title=title, new_tab=True)
    navigates = target.kind == "link" and bool(target.href) and target.href.split("#")[0] != before.split("#")[0]
    url, title = await_navigation(s, before, 1.0 if navigates else 0.0)
    if target.kind == "field":
        return ok("click", f"The cursor is in the '{name}' field.", url=url, title=title)
    if url != before:
        return ok("click", f"Clicked '{name}'. Now on {_where(url, title)}.", url=url, title=title)
    return ok("click", f"Clicked '{name}'.", url=url, title=title)


# ---------------------------------------------------------------- confirmation of risky actions

RISKY_WORDS = re.compile(
    r"\b(buy|pay|purchase|order|checkout|check out|delete|remove|erase|send|submit|transfer|donate|"
    r"subscribe|unsubscribe|confirm|place order)\b", re.I)

_RISK_JS = r"""
const el = arguments[0];
const label = (el.innerText || el.value || el.getAttribute('aria-label') || el.title || '').replace(/\s+/g, ' ').trim();
const form = el.form || el.closest('form');
const tag = el.tagName.toLowerCase(), type = (el.getAttribute('type') || '').toLowerCase();
const submits = !!form && ((tag === 'button' && (type === '' || type === 'submit')) || (tag === 'input' && (type === 'submit' || type === 'image')));
let search = false, button = '';
if (form) {
  const fields = Array.from(form.elements).filter(e => e.tagName === 'TEXTAREA' || (e.tagName === 'INPUT' && !['hidden','submit','button','reset','image','checkbox','radio'].includes(e.type)));
  const f = fields[0];
  search = form.getAttribute('role') === 'search' || !!form.closest('[role=search]') || (fields.length === 1 && f.type !== 'password' &&
    (f.type === 'search' || /^(q|s|query|search)$/i.test(f.name || '') || /search/i.test(f.placeholder || '') || /search/i.test(f.getAttribute('aria-label') || '')));
  const b = form.querySelector('button:not([type=button]):not([type=reset]),input[type=submit]');
  button = b ? (b.innerText || b.value || b.getAttribute('aria-label') || '').replace(/\s+/g, ' ').trim() : '';
}
return {label: label.slice(0, 80), submits: submits, form: !!form, search: search, button: button.slice(0, 80)};
"""


def risk_of(s: DriverSession, element: Any) -> dict[str, Any]:
    """What pressing ``element`` (or submitting its form) would do: label, form, search form."""
    info = s.driver.execute_script(_RISK_JS, element)
    return dict(info) if isinstance(info, dict) else {}


def risky_press(label: str, info: dict[str, Any]) -> bool:
    """Buy/pay/delete/send... labels, and submitting any form that is not a search box."""
    return bool(RISKY_WORDS.search(label or info.get("label", ""))) or (
        bool(info.get("submits")) and not info.get("search"))


def confirm_first(tool: str, message: str, **data: Any) -> ToolResult:
    """The action changes something on the web: ask the user (the agent remembers the call)."""
    return fail(tool, "confirm.required", message, **data)


def click(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    target = _click_target(s, args)
    if isinstance(target, ToolResult):
        return target
    choice, noun = target
    if not args.get("confirmed"):
        info = risk_of(s, choice.element)
        if risky_press(choice.text, info):
            name = _quote(choice.text or info.get("label", "")) or f"{noun} {choice.index}"
            return confirm_first("click", f"Should I press '{name}'?", label=name)
    return _click_element(s, choice, noun)


def _click_target(s: DriverSession, args: dict[str, Any]) -> tuple[Clickable, str] | ToolResult:
    text, index, kind = args.get("text"), args.get("index"), args.get("kind", "auto")
    if index is not None:
        results = to_clickables(s.driver.execute_script(RESULTS_JS)) if kind in ("auto", "result") else []
        if kind == "result" or (kind == "auto" and len(results) >= 3):
            pool, noun = results, "result"
        else:
            pool, noun = [c for c in _clickables(s) if c.kind != "field"], "link"
        if not pool:
            return fail("click", "click.not_found", f"There are no {noun}s on this page.")
        if index > len(pool):
            return fail("click", "click.out_of_range", f"There {'is only one' if len(pool) == 1 else f'are only {len(pool)}'} {noun}{'' if len(pool) == 1 else 's'} on this page.", count=len(pool))
        return pool[index - 1], noun
    items = _clickables(s)
    match = match_clickable(text or "", items)
    if match.ambiguous:
        names = [_quote(c.text) for c in match.candidates]
        return fail(
            "click", "click.ambiguous", f"I found more than one: {spoken_list(names)}. Which one?",
            candidates=[{"text": c.text, "href": c.href, "kind": c.kind} for c in match.candidates],
            untrusted_text="\n".join(c.text for c in match.candidates),
        )
    if match.best is None:
        return fail("click", "click.not_found", f"I couldn't find a link or button called '{_quote(text or '')}' on this page.")
    return match.best, "link"


# ---------------------------------------------------------------- typing

_FIELD_JS = r"""
const editable = (el) => el && (el.isContentEditable || (el.tagName === 'TEXTAREA') ||
  (el.tagName === 'INPUT' && !['button','submit','reset','checkbox','radio','file','image','range','color','hidden'].includes(el.type)));
const vis = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
let el = document.activeElement;
if (!(editable(el) && vis(el))) {
  const all = Array.from(document.querySelectorAll('input,textarea,[contenteditable=true],[role=searchbox],[role=textbox]')).filter(e => editable(e) && vis(e) && !e.disabled && !e.readOnly && e.type !== 'password');
  el = all.find(e => e.type === 'search' || e.getAttribute('role') === 'searchbox' || ['q','query','search','s'].includes(e.name) || e.closest('[role=search]')) || all[0] || null;
}
if (!el) return null;
const isSearch = el.type === 'search' || el.getAttribute('role') === 'searchbox' || ['q','query','search','s'].includes(el.name) || !!el.closest('[role=search]') || /search/i.test(el.placeholder || '') || /search/i.test(el.getAttribute('aria-label') || '');
let label = el.getAttribute('aria-label') || (el.labels && el.labels[0] ? el.labels[0].innerText : '') || el.placeholder || el.name || '';
return [el, {label: label.replace(/\s+/g, ' ').trim().slice(0, 80), search: isSearch, password: el.type === 'password', rich: !!el.isContentEditable}];
"""

_IS_SEARCH_JS = r"""
const el = arguments[0];
return el.type === 'search' || el.getAttribute('role') === 'searchbox' || ['q','query','search','s'].includes(el.name) || !!el.closest('[role=search]') || /search/i.test(el.placeholder || '');
"""


def type_text(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    d = s.driver
    text, field, submit = args["text"], args.get("field"), args.get("submit")
    if field:
        fields = [c for c in _clickables(s) if c.kind == "field"]
        match = match_clickable(field, fields, prefer="field")
        if match.ambiguous:
            names = [_quote(c.text) for c in match.candidates]
            return fail("type", "type.ambiguous", f"There is more than one field like that: {spoken_list(names)}. Which one?",
                        candidates=[c.text for c in match.candidates], untrusted_text="\n".join(c.text for c in match.candidates))
        if match.best is None:
            return fail("type", "type.no_field", f"I couldn't find a field called '{_quote(field)}' on this page.")
        el, label = match.best.element, match.best.text
        is_search = bool(d.execute_script(_IS_SEARCH_JS, el))
    else:
        found = d.execute_script(_FIELD_JS)
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
                button = _quote(info.get("button", "")) or "submit"
                where = f"the '{_quote(label)}' field" if label else "the field"
                return confirm_first("type", f"Should I type '{_quote(text)}' into {where} and press '{button}'?",
                                     label=button)
    before, _, _ = _page_info(s)
    try:
        d.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", el)
        if el.tag_name.lower() in ("input", "textarea"):
            el.clear()
        el.send_keys(text)
    except ElementNotInteractableException:
        return fail("type", "type.not_editable", f"I can't type into the '{_quote(label) or 'selected'}' field.")
    where = f"the '{_quote(label)}' field" if label else "the field"
    if do_submit:
        if el.tag_name.lower() == "textarea":  # Enter is a new line there: submit the form
            d.execute_script("const f = arguments[0].form; if (f) { f.requestSubmit ? f.requestSubmit() : f.submit(); }", el)
        else:
            el.send_keys(Keys.ENTER)
        url, title = await_navigation(s, before, 1.0)
        if url != before:
            return ok("type", f"Typed '{_quote(text)}' into {where} and submitted it. Now on {_where(url, title)}.", url=url, title=title, submitted=True)
        return ok("type", f"Typed '{_quote(text)}' into {where} and pressed Enter.", url=url, title=title, submitted=True)
    return ok("type", f"Typed '{_quote(text)}' into {where}.", submitted=False)


# ---------------------------------------------------------------- scrolling, zoom, media

_SCROLL_JS = r"""
const dir = arguments[0];
let el = document.scrollingElement || document.documentElement;
let page = innerHeight;
if (el.scrollHeight <= el.clientHeight + 2) {
  let best = null, area = 0, n = 0;
  for (const c of document.body ? document.body.querySelectorAll('*') : []) {
    if (++n > 4000) break;
    if (c.scrollHeight <= c.clientHeight + 2 || c.clientHeight < 100) continue;
    const oy = getComputedStyle(c).overflowY;
    if (oy !== 'auto' && oy !== 'scroll') continue;
    const a = c.clientWidth * c.clientHeight;
    if (a > area) { area = a; best = c; }
  }
  if (best) { el = best; page = best.clientHeight; }
}
const before = el.scrollTop, max = el.scrollHeight - el.clientHeight;
const to = dir === 'down' ? before + page * 0.85 : dir === 'up' ? before - page * 0.85 : dir === 'top' ? 0 : max;
el.scrollTo({top: to, behavior: 'instant'});
return [before, el.scrollTop, max];
"""


def scroll(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    direction = args["direction"]
    before, after, top = (float(v) for v in s.driver.execute_script(_SCROLL_JS, direction))
    data = {"y": after, "max": top}
    if abs(after - before) < 1:
        end = "top" if direction in ("up", "top") else "bottom"
        if top <= 1:
            return ok("scroll", "This page fits on one screen; there is nothing to scroll.", **data)
        return ok("scroll", f"Already at the {end} of the page.", **data)
    if direction in ("top", "bottom"):
        return ok("scroll", f"Scrolled to the {direction} of the page.", **data)
    at_end = (direction == "down" and after >= top - 1) or (direction == "up" and after <= 1)
    tail = f" That's the {'bottom' if direction == 'down' else 'top'} of the page." if at_end else ""
    return ok("scroll", f"Scrolled {direction}.{tail}", **data)


_ZOOM_JS = r"""
const r = document.documentElement;
if (arguments[0] !== null) r.style.zoom = String(arguments[0]);
return parseFloat(r.style.zoom || '1') || 1;
"""


def zoom(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    current = float(s.driver.execute_script(_ZOOM_JS, None))
    direction = args["direction"]
    if direction == "reset":
        level = 1.0
    elif direction == "in":
        level = next((z for z in ZOOM_LEVELS if z > current + 1e-3), ZOOM_LEVELS[-1])
    else:
        level = next((z for z in reversed(ZOOM_LEVELS) if z < current - 1e-3), ZOOM_LEVELS[0])
    if abs(level - current) < 1e-3 and direction != "reset":
        limit = "largest" if direction == "in" else "smallest"
        return ok("zoom", f"The page is already at its {limit} zoom, {round(current * 100)}%.", zoom=current)
    s.driver.execute_script(_ZOOM_JS, level)
    s.zoom[s.driver.current_window_handle] = level
    if direction == "reset":
        return ok("zoom", "Zoom reset to 100%.", zoom=level)
    return ok("zoom", f"Zoomed {direction} to {round(level * 100)}%.", zoom=level)


_MEDIA_JS = r"""
const action = arguments[0], done = arguments[arguments.length - 1];
const all = Array.from(document.querySelectorAll('video,audio'));
if (!all.length) { done(null); return; }
const area = (m) => { const r = m.getBoundingClientRect(); return r.width * r.height; };
const m = all.find(x => !x.paused) || all.slice().sort((a, b) => area(b) - area(a))[0];
const state = () => ({tag: m.tagName.toLowerCase(), paused: m.paused, muted: m.muted, error: ''});
if (action === 'play') {
  let finished = false;
  const finish = (s) => { if (!finished) { finished = true; done(s); } };
  setTimeout(() => finish(state()), 3000);
  Promise.resolve(m.play()).then(() => finish(state())).catch((e) => finish(Object.assign(state(), {error: e.name})));
  return;
}
if (action === 'pause') m.pause();
if (action === 'mute') m.muted = true;
if (action === 'unmute') { m.muted = false; if (m.volume === 0) m.volume = 1; }
done(state());
"""


def media(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    action = args["action"]
    state = s.driver.execute_async_script(_MEDIA_JS, action)
    if not state:
        return fail("media", "media.none", "There's no video or audio on this page.")
    what = "video" if state.get("tag") == "video" else "audio"
    if action == "play":
        if state.get("paused"):
            return fail("media", "media.blocked", f"The {what} would not start playing.", **state)
        return ok("media", f"Playing the {what}.", **state)
    done = {"pause": "Paused", "mute": "Muted", "unmute": "Unmuted"}[action]
    return ok("media", f"{done} the {what}.", **state)


# ---------------------------------------------------------------- reading


def _main_text(s: DriverSession) -> str:
    return str(s.driver.execute_script(MAIN_TEXT_JS, MAX_TEXT_CHARS) or "")


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """Page text fit to say: no control characters or runs of spaces, cut at a sentence."""
    text = re.sub(r"[ \t]+", " ", re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)).strip()
    if len(text) <= limit:
        return text, False
    head = text[:limit]
    stop = max(head.rfind(". "), head.rfind(".\n"), head.rfind("\n"))
    return (head[: stop + 1] if stop > limit // 2 else head).rstrip(), True


def read_page(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    text = _main_text(s)
    url, title, _ = _page_info(s)
    if not text.strip():
        return fail("read_page", "page.empty", "This page has no text to read.", url=url, title=title)
    spoken, more = _cut(text, SPOKEN_CHARS)
    return ok("read_page", spoken, text=text, untrusted_text=text, url=url, title=title, truncated=more, chars=len(text))


def summarize_page(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    text = _main_text(s)
    url, title, _ = _page_info(s)
    if not text.strip():
        return fail("summarize_page", "page.empty", "This page has no text to summarise.", url=url, title=title)
    return ok("summarize_page", f"Here is the text of {_where(url, title)} to summarise.",
              text=text, untrusted_text=text, url=url, title=title, chars=len(text))


def read_headings(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    heads = s.driver.execute_script(HEADINGS_JS) or []
    if not heads:
        return fail("read_headings", "page.no_headings", "This page has no headings.")
    names = [_quote(h["text"], 80) for h in heads]
    shown = names[:20]
    more = f", and {len(names) - 20} more" if len(names) > 20 else ""
    n = len(names)
    message = f"This page has {n} heading{'s' if n != 1 else ''}: " + "; ".join(shown) + more + "."
    return ok("read_headings", message, headings=heads, untrusted_text="\n".join(h["text"] for h in heads))


def copy_url(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    """The current page's address in the reply, for the user to read or copy from the chat."""
    url, title, _ = _page_info(s)
    if not url or url == "about:blank":
        return fail("copy_url", "page.none", "No page is open, so there is no address to give.", url=url)
    return ok("copy_url", f"The address of {_where(url, title)} is {url}", url=url, title=title)


# ---------------------------------------------------------------- screenshot


def screenshot_jpeg(s: DriverSession, quality: int = 70) -> bytes:
    """The visible part of the page as JPEG (Chromium: one CDP call; others: PNG -> JPEG)."""
    d = s.driver
    if isinstance(d, ChromiumDriver):
        try:
            shot = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "jpeg", "quality": quality})
            return base64.b64decode(shot["data"])
        except (WebDriverException, JavascriptException, KeyError):
            pass
    png = d.get_screenshot_as_png()
    try:
        from PIL import Image
    except ImportError:
        return png
    img = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


ACTIONS: dict[str, Action] = {
    "navigate": navigate,
    "search": search,
    "click": click,
    "type": type_text,
    "scroll": scroll,
    "back": back,
    "forward": forward,
    "reload": reload,
    "new_tab": new_tab,
    "close_tab": close_tab,
    "switch_tab": switch_tab,
    "read_page": read_page,
    "summarize_page": summarize_page,
    "read_headings": read_headings,
    "media": media,
    "zoom": zoom,
    "copy_url": copy_url,
}
