"""References resolved against the page: "the second one", "that last link", "the pricing page".

What a user says on a page often only makes sense with the page in view. Resolved here, before
the fast path guesses a website and before the LLM:

* ordinals and ellipsis: "second one please", "the third result", "that last link", "number
  4", "the next one" / "the previous one" (after "the second one": the third; from the result's
  own page that means going back to the list first). They count what the click tool counts: the
  results-like list when the page has one (3+ results), else the links and buttons in reading
  order, so "click" with an ``index`` does the rest (numbered links stay as they are).
* "go to the wikipedia tab": the open tab whose title fits (``switch_tab`` by its number).
* "open / go to / show me the X page (link, button, section)": a link or button on the current
  page whose text matches X is clicked, not a website called X guessed. Without the word
  "page"/"link", a known site name ("open google") stays a site; any other name is looked for on
  the page first.

Nothing here guesses: a reference that cannot be resolved asks ("Sorry, which link?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from sayso.agent.fastpath import site_for
from sayso.agent.vocabulary import NAV_VERBS, Term, Vocabulary
from sayso.browser.page import FILLER
from sayso.types import ToolCall

WHICH = "Sorry, which link?"
WHICH_ONE = "Sorry, which one? Say for example 'the second one'."

_VERB = (r"(?:(?:open|click|click on|select|choose|take|pick|follow|go to|go for|show me|try|read|play|"
         r"give me|i want|i'll take|i will take|let's try|lets try|how about|what about|and|ok|okay|then)\s+)*")
_DET = r"(?:(?:the|that|this|a)\s+)?"
_NOUN = (r"(?:1|one|link|result|item|option|entry|article|story|video|search result|hit|button|choice|"
         r"listing|headline|post)")
_ORDINAL = re.compile(rf"^{_VERB}{_DET}(?P<n>\d{{1,3}})(?:st|nd|rd|th)(?:\s+{_NOUN})?(?:\s+(?:on the list|in the list|"
                      rf"on the page|down))?$")
_NUMBER = re.compile(rf"^{_VERB}{_DET}(?:number|no|#)\s*(?P<n>\d{{1,3}})$")
_RELATIVE = re.compile(rf"^{_VERB}(?:the|that|this)\s+(?P<which>last|next|previous|final|following|other)"
                       rf"(?:\s+{_NOUN})$|^{_VERB}(?P<which2>next|previous) (?:1|one)$")
_SUFFIX = r"(?:page|link|button|section|tab|menu|area|part)"
_TAB = re.compile(r"^(?:(?:switch|go|change|move|jump|take me)\s+)?(?:back\s+)?to\s+(?:the\s+|my\s+)?(?P<name>.+?)\s+tab$")
_NAMED = re.compile(r"^(?P<verb>" + "|".join(re.escape(v) for v in NAV_VERBS) +
                    rf")\s+(?:the\s+|my\s+|our\s+)?(?P<name>.+?)(?:\s+(?P<suffix>{_SUFFIX}))?$")


@dataclass(frozen=True, slots=True)
class Reference:
    """What the words point at: calls to run, or a question when they point at nothing clear."""

    calls: list[ToolCall] = field(default_factory=list)
    question: str = ""
    pick: int | None = None  # the Nth item of the list chosen (remembered for "the next one")


def _click(index: int) -> ToolCall:
    return ToolCall(name="click", args={"index": index})


def _ordinal(norm: str, vocab: Vocabulary) -> Reference | None:
    m = _ORDINAL.match(norm) or _NUMBER.match(norm)
    if m:
        n = int(m.group("n"))
        return Reference([_click(n)], pick=n) if n >= 1 else None
    m = _RELATIVE.match(norm)
    if not m:
        return None
    which = m.group("which") or m.group("which2")
    pool, _ = vocab.pool
    if which in ("last", "final"):
        if not pool:
            return Reference(question=WHICH)
        return Reference([_click(len(pool))], pick=len(pool))
    if which == "other":
        return Reference(question=WHICH_ONE)
    step = -1 if which == "previous" else 1
    if vocab.last_pick is None:
        return Reference(question=WHICH_ONE)
    list_url, last = vocab.last_pick
    n = last + step
    if n < 1:
        return Reference(question="That was the first one.")
    if vocab.state.url and vocab.state.url != list_url:
        # on the page the last pick opened: back to the list, then the next one
        return Reference([ToolCall(name="back", args={}), _click(n)], pick=n)
    if pool and n > len(pool):
        return Reference(question=f"That was the last one; there are {len(pool)}.")
    return Reference([_click(n)], pick=n)


def _word_in(word: str, words: list[str]) -> bool:
    return any(w == word or (len(word) >= 4 and fuzz.ratio(w, word) >= 85) for w in words)


def _fits(name: str, t: str) -> bool:
    """True when ``t`` (a link's words) is what ``name`` says: alike as a whole, or every word of it."""
    if not t:
        return False
    if fuzz.ratio(name, t) >= 85 or name.replace(" ", "") == t.replace(" ", ""):
        return True
    want = [w for w in name.split() if w not in FILLER]
    return bool(want) and all(_word_in(w, t.split()) for w in want)


def _tab(norm: str, vocab: Vocabulary) -> Reference | None:
    """"go to the wikipedia tab": the open tab whose title fits the words."""
    m = _TAB.match(norm)
    if not m:
        return None
    name = m.group("name").strip()
    found = {t.key: t for t in vocab.page if t.kind == "tab" and _fits(name, t.key)}
    if len(found) == 1:
        return Reference([next(iter(found.values())).call])
    if len(found) > 1:
        names = [f"'{t.text[:60]}'" for t in list(found.values())[:3]]
        return Reference(question=f"Which tab: {', '.join(names[:-1])} or {names[-1]}?")
    return None


def _named(norm: str, vocab: Vocabulary) -> Reference | None:
    m = _NAMED.match(norm)
    if not m or not vocab.page:
        return None
    name, suffix = m.group("name").strip(), m.group("suffix")
    if suffix == "tab":
        return None  # a tab by its title: _tab
    if not name or re.search(r"\.[a-z]{2,}(?:/|$)", name):
        return None  # a spoken address: the fast path opens it
    known_site = site_for(name) is not None
    if known_site and not suffix:
        return None  # "open google": the site, even with a "Google" link on the page
    # the page's ranked names (at most MAX_PAGE_TERMS, however big the page), links and buttons
    terms = [t for t in vocab.page if t.kind in ("link", "button", "result")]
    found: dict[str, Term] = {}
    # a quick pass in C first (rapidfuzz over all names), the exact test on the few near ones
    for _, score, i in process.extract(name, [t.key for t in terms], scorer=fuzz.token_set_ratio, limit=None):
        if score >= 60 and _fits(name, terms[i].key):
            found.setdefault(terms[i].key, terms[i])
    if len(found) == 1:
        term = next(iter(found.values()))
        return Reference([ToolCall(name="click", args={"text": term.text})])
    if len(found) > 1:
        exact = [t for t in found.values() if t.key == name]
        if len(exact) == 1:
            return Reference([ToolCall(name="click", args={"text": exact[0].text})])
        names = [f"'{t.text[:60]}'" for t in list(found.values())[:3]]
        return Reference(question=f"Which one: {', '.join(names[:-1])} or {names[-1]}?")
    return None  # not on the page: the fast path (a known site) or the LLM


def resolve(norm: str, vocab: Vocabulary, planned: list[ToolCall] | None = None) -> Reference | None:
    """What ``norm`` (the fast path's normalised text) refers to on the current page, or None.

    ``planned`` is the fast path's plan for the same words: a name on the page only overrides
    a guessed website (``navigate``) or no plan at all, never a command ("show me the headings").
    """
    norm = norm.strip()
    if not norm:
        return None
    ref = _ordinal(norm, vocab)
    if ref is not None:
        return ref
    if planned is not None and not (len(planned) == 1 and planned[0].name == "navigate"):
        return None
    return _tab(norm, vocab) or _named(norm, vocab)
