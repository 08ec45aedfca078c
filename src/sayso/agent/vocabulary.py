"""The page vocabulary: the words a user can mean right now, and what each one does.

Three parts, refreshed by the agent after each browser state (:meth:`Vocabulary.update`):

* command phrases ("page down", "new tab"): fixed, each with the fast path's own tool call;
* spoken site names ("amazon", "the new york times"): the one table, ``browser.sites.SITES``;
* the current page: link, button and field texts, the results-like list, tab titles. Capped and
  ranked (results first, then what is in view, then reading order; duplicates dropped), so a
  page with 5,000 links costs recognition no more than a page with 150.

Read by the recogniser (:mod:`sayso.agent.phonetic`: misheard names recovered), by the
reference resolver (:mod:`sayso.agent.references`: "the second one", "the pricing page"), by the
guard against invented addresses (:meth:`Vocabulary.allows_url`), and by the speech stage for
biasing (:meth:`Vocabulary.prompt`). Page text is data: it only ever becomes the text of a
``click``, never an instruction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sayso.agent.fastpath import match
from sayso.browser.base import BrowserState, PageItem, TabInfo
from sayso.browser.sites import SITES
from sayso.types import ToolCall

MAX_PAGE_TERMS = 150  # page names the recogniser compares against (ranked, then cut)
MAX_TERM_WORDS = 8  # a long headline is named by its first words
PROMPT_CHARS = 400  # Whisper's initial prompt stays short (its cost grows with length)

# whole commands as people say them; each phrase's call comes from the fast path itself, so a
# phrase the fast path does not claim is simply left out
_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
COMMAND_PHRASES: tuple[str, ...] = (
    "new tab", "open a new tab", "close tab", "close the tab", "close this tab", "next tab", "previous tab",
    "page down", "page up", "scroll down", "scroll up", "scroll to the top", "scroll to the bottom",
    "back to the top", "go back", "take me back", "go forward", "forward", "reload", "refresh the page",
    "reload the page", "zoom in", "zoom out", "reset the zoom", "make the text bigger",
    "make the text smaller", "read the page", "read it to me", "read this page", "summarize the page",
    "summarize this page", "give me a summary of this page", "what is this page about", "read the headings",
    "what are the headings", "pause", "pause the video", "play", "play the video", "resume the video",
    "mute", "unmute", "mute the video", "unmute the video", "stop", "cancel that", "be quiet",
    *(f"switch to tab {n}" for n in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")),
    *(f"open the {o} result" for o in _ORDINAL_WORDS),
    *(f"click the {o} link" for o in _ORDINAL_WORDS),
    *(f"click link number {n}" for n in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")),
)
# verbs that introduce a place ("go to X") or a thing on the page ("click X")
NAV_VERBS: tuple[str, ...] = (
    "go to", "goto", "open up", "open", "visit", "navigate to", "bring up", "pull up", "show me",
    "take me to", "load", "launch", "head to", "get me",
)
CLICK_VERBS: tuple[str, ...] = (
    "click on", "click", "press", "tap on", "tap", "select", "choose", "follow", "hit",
)
_KIND_RANK = {"result": 0, "link": 1, "button": 1, "field": 2, "tab": 3}


@dataclass(frozen=True, slots=True)
class Term:
    """One thing the user can name: its words, what it is, and the call that saying it means."""

    text: str
    kind: str  # "command" | "site" | "result" | "link" | "button" | "field" | "tab"
    call: ToolCall
    key: str = ""  # the lower-case words, for matching


def words_of(text: str) -> str:
    """Lower-case words without punctuation ("Log in!" -> "log in")."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("'", "")).split())


def _command_terms() -> tuple[Term, ...]:
    out = []
    for phrase in COMMAND_PHRASES:
        call = match(phrase)
        if call is not None:
            out.append(Term(phrase, "command", call, words_of(phrase)))
    return tuple(out)


def _site_terms(sites: Mapping[str, str]) -> tuple[Term, ...]:
    return tuple(Term(name, "site", ToolCall(name="navigate", args={"url": url}), words_of(name))
                 for name, url in sites.items())


def _short(text: str) -> str:
    words = text.split()
    return " ".join(words[:MAX_TERM_WORDS])


def rank_page(state: BrowserState, limit: int = MAX_PAGE_TERMS) -> tuple[Term, ...]:
    """The page's nameable things, best first, duplicates and empty names dropped, at most ``limit``."""
    ranked: list[tuple[tuple[int, int, int], PageItem | TabInfo]] = [((0, 0, r.index), r) for r in state.results]
    ranked += [((1 if i.in_view else 2, _KIND_RANK.get(i.kind, 2), i.index), i) for i in state.items]
    ranked += [((3, 3, t.index), t) for t in state.tabs if t.title and not t.active]
    ranked.sort(key=lambda rt: rt[0])  # a sort of plain tuples: ~1 ms for 5,000 links
    out: list[Term] = []
    seen: set[str] = set()
    for _, thing in ranked:
        if isinstance(thing, TabInfo):
            title = _short(thing.title)
            term = Term(title, "tab", ToolCall(name="switch_tab", args={"index": thing.index}), words_of(title))
        else:
            term = _item_term(thing, thing.kind)
        if len(term.key) < 2 or term.key in seen:
            continue
        seen.add(term.key)
        out.append(term)
        if len(out) >= limit:
            break
    return tuple(out)


def _item_term(item: PageItem, kind: str) -> Term:
    text = _short(item.text)
    # a result by its number (the click tool counts results the same way); the rest by name
    call = ToolCall(name="click", args={"index": item.index} if kind == "result" else {"text": text})
    return Term(text, kind, call, words_of(text))


@dataclass
class Vocabulary:
    """One session's vocabulary (the browser is per session; the fixed parts are shared)."""

    sites: Mapping[str, str] = field(default_factory=lambda: dict(SITES))
    state: BrowserState = field(default_factory=BrowserState)
    page: tuple[Term, ...] = ()
    # the last "the Nth one" picked from a list: (the list page's URL, N), for "the next one"
    last_pick: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        self.commands = _COMMANDS
        self.site_terms = _site_terms(self.sites) if self.sites is not SITES else _SITES

    def update(self, state: BrowserState) -> None:
        """Take in a new browser state (cheap when the page did not change)."""
        if (state.url, state.items, state.results, state.tabs) == (
                self.state.url, self.state.items, self.state.results, self.state.tabs):
            self.state = state
            return
        self.state = state
        self.page = rank_page(state)

    @property
    def terms(self) -> tuple[Term, ...]:
        return (*self.commands, *self.site_terms, *self.page)

    @property
    def links(self) -> tuple[PageItem, ...]:
        """The page's links and buttons in the browser's numbering ("click link 3")."""
        return tuple(i for i in self.state.items if i.kind != "field")

    @property
    def pool(self) -> tuple[tuple[PageItem, ...], str]:
        """What "the Nth one" counts in, as the click tool does: results when there are 3+."""
        if len(self.state.results) >= 3:
            return self.state.results, "result"
        return self.links, "link"

    def allows_url(self, url: str, said: str) -> bool:
        """True when ``url`` is a known site, a link on the page, or an address in ``said``.

        The LLM may navigate only there; anything else is an address it made up.
        """
        if words_of(url) in self.sites:  # "amazon": a site name, not an address
            return True
        host = _host(url)
        if not host:
            return False
        known = {_host(a) for a in self.sites.values()}
        if any(host == k or host.endswith("." + k) for k in known):  # en.wikipedia.org too
            return True
        if any(_host(i.href) == host for i in (*self.state.items, *self.state.results) if i.href):
            return True
        spoken = re.sub(r"\s+dot\s+", ".", said.lower())  # "stack overflow dot com"
        return host in re.sub(r"[^a-z0-9.]", "", spoken)

    def said_name_of(self, url: str, said: str) -> bool:
        """True when the host's name is in the user's words ("the verge" for theverge.com)."""
        host = _host(url)
        label = host.split(".")[-2] if host.count(".") >= 1 else host
        joined = re.sub(r"[^a-z0-9]", "", said.lower())
        return len(label) >= 3 and label in joined

    def prompt(self, limit: int = PROMPT_CHARS) -> str:
        """Words for biasing the speech recogniser (Whisper's ``initial_prompt``/``hotwords``).

        The page's names first (they change), then the site names, then command phrases.
        """
        parts: list[str] = []
        size = 0
        for term in (*self.page[:40], *self.site_terms, *self.commands):
            if term.text in parts:
                continue
            if size + len(term.text) + 2 > limit:
                break
            parts.append(term.text)
            size += len(term.text) + 2
        return ", ".join(parts)


def _host(url: str) -> str:
    u = url.strip().lower()
    if not u:
        return ""
    if "://" not in u:
        u = "https://" + u
    host = urlsplit(u).hostname or ""
    return host.removeprefix("www.")


_COMMANDS: tuple[Term, ...] = _command_terms()
_SITES: tuple[Term, ...] = _site_terms(SITES)
