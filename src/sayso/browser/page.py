"""What is on the page, each read with one ``execute_script`` call.

- ``clickables``: visible links, buttons and inputs with their spoken text, in reading order;
- ``results``: the results-like list of a page ("open the second result");
- ``main_text``: the readable main text (no navigation, headers, footers, forms);
- ``headings``: h1-h6 in order;
- ``match_clickable``: fuzzy choice by spoken text (filler words stripped, rapidfuzz
  token_set_ratio), with an ambiguity verdict when two different targets are equally good.

Everything read here is page content: data, never instructions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from sayso.browser.base import PageItem
from sayso.browser.js import script

MAX_CLICKABLES = 600
MAX_STATE_ITEMS = 200  # what the browser state carries for the vocabulary (the click tool reads 600)
MAX_TEXT_CHARS = 50_000
MATCH_THRESHOLD = 70.0  # token_set_ratio below this is "not found"
AMBIGUITY_MARGIN = 6.0  # candidates this close to the best are "equally good"

# the page scripts (browser/js/*.js), each with the shared helpers in front
CLICKABLES_JS = script("helpers") + script("clickables")
RESULTS_JS = script("helpers") + script("results")
MAIN_TEXT_JS = script("helpers") + script("main_text")
HEADINGS_JS = script("helpers") + script("headings")
PAGE_INFO_JS = script("page_info")

# the URL and title with what the user can point at, in one call: the same clickables and results
# (same order, same numbering) as the click tool uses, texts only (no elements cross the wire)
STATE_JS = (
    script("helpers")
    + "const clickables = (function () {" + script("clickables") + "}).apply(null, [arguments[0]]);\n"
    + "const results = (function () {" + script("results") + "})();\n"
    + "return [location.href, document.title, document.readyState, clickables[1], results[1]];"
)

FILLER = frozenset(
    "a an the on onto in into at to please click press tap hit select choose open follow go "
    "link button buttons links tab called named labelled labeled titled says that which one "
    "thing item option".split()
)


@dataclass(frozen=True, slots=True)
class Clickable:
    index: int  # 1-based, reading order
    text: str
    tag: str = "a"
    href: str = ""
    type: str = ""
    in_view: bool = False
    element: Any = field(default=None, compare=False, repr=False)

    @property
    def kind(self) -> str:
        if self.tag == "a" or self.type == "link":
            return "link"
        if self.tag in ("input", "textarea", "select") and self.type not in ("submit", "button", "reset", "checkbox", "radio"):
            return "field"
        return "button"


def to_clickables(raw: Any) -> list[Clickable]:
    """Turn the ``[elements, info]`` pair a snippet returns into Clickables."""
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        return []
    elements, infos = raw
    out = []
    for i, (el, info) in enumerate(zip(elements, infos, strict=False), start=1):
        out.append(
            Clickable(
                index=i,
                text=str(info.get("text") or ""),
                tag=str(info.get("tag") or ""),
                href=str(info.get("href") or ""),
                type=str(info.get("type") or ""),
                in_view=bool(info.get("in_view")),
                element=el,
            )
        )
    return out


def to_page_items(infos: Any, *, results: bool = False) -> tuple[PageItem, ...]:
    """The ``info`` half of a snippet's answer as PageItems (links, buttons, fields; results)."""
    if not isinstance(infos, list):
        return ()
    out = []
    for i, info in enumerate(infos, start=1):
        if not isinstance(info, dict):
            continue
        c = Clickable(index=i, text=str(info.get("text") or ""), tag=str(info.get("tag") or ""),
                      href=str(info.get("href") or ""), type=str(info.get("type") or ""),
                      in_view=bool(info.get("in_view")))
        out.append(PageItem(index=i, text=c.text, kind="result" if results else c.kind, href=c.href,
                            in_view=c.in_view))
    return tuple(out)


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def strip_filler(text: str) -> str:
    """'click on the login button please' -> 'login'; keeps the words if all are filler."""
    words = normalise(text).split()
    kept = [w for w in words if w not in FILLER]
    return " ".join(kept or words)


@dataclass(frozen=True, slots=True)
class Match:
    """The verdict of a fuzzy search: one target, several equally good ones, or none."""

    best: Clickable | None
    candidates: tuple[Clickable, ...] = ()
    score: float = 0.0

    @property
    def ambiguous(self) -> bool:
        return self.best is None and len(self.candidates) > 1


_SUFFIXES = ("ing", "es", "ed", "s")


def _stem(text: str) -> str:
    """A light stemmer for spoken variants: "prices" and "pricing" both become "pric"."""
    out = []
    for word in text.split():
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        out.append(word)
    return " ".join(out)


def _score(query: str, text: str) -> float:
    cand = normalise(text)
    if not cand:
        return 0.0
    q_flat, c_flat = query.replace(" ", ""), cand.replace(" ", "")
    if cand == query or c_flat == q_flat:
        return 101.0  # the exact words (or "login" for "Log in") beat any partial match
    score = max(
        fuzz.token_set_ratio(query, cand),
        fuzz.token_set_ratio(_stem(query), _stem(cand)),
        fuzz.ratio(q_flat, c_flat),
    )
    if len(q_flat) >= 5:  # "signup" in "Sign up for free"
        score = max(score, 0.9 * fuzz.partial_ratio(q_flat, c_flat))
    return float(score)


def match_clickable(spoken: str, items: list[Clickable], *, prefer: str | None = None) -> Match:
    """Choose the clickable the user named. ``prefer`` ("field", "link", "button") breaks ties."""
    query = strip_filler(spoken)
    if not query:
        return Match(None)
    scored = sorted(
        ((s, c) for c in items if (s := _score(query, c.text)) >= MATCH_THRESHOLD),
        key=lambda sc: (-sc[0], not sc[1].in_view, sc[1].index),
    )
    if not scored:
        return Match(None)
    top_score = scored[0][0]
    close = [c for s, c in scored if s >= top_score - AMBIGUITY_MARGIN]
    if prefer:
        preferred = [c for c in close if c.kind == prefer]
        close = preferred or close
    distinct: list[Clickable] = []
    seen: set[tuple[str, str]] = set()
    for c in close:
        key = (normalise(c.text), c.href)
        if key not in seen:
            seen.add(key)
            distinct.append(c)
    if len(distinct) == 1 or top_score > 100:
        return Match(close[0], tuple(distinct), top_score)
    # same words, different targets, or different words that fit equally well: ask
    return Match(None, tuple(distinct[:4]), top_score)


def spoken_list(items: list[str], conj: str = "or") -> str:
    quoted = [f"'{t}'" for t in items]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + f" {conj} " + quoted[-1]
