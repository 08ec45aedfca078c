"""The fast path: common spoken browser commands mapped to tool calls without the LLM.

Deterministic and precise: each pattern matches a whole (normalised) utterance, and anything
it is not sure about returns ``None`` so the LLM decides ("open the settings" with an unknown
site, "search youtube for cats", questions). A few milliseconds at most.

Normalisation first, because Whisper writes what it hears: case, punctuation, "dot com",
number words ("tab three", "the third result"), politeness ("could you please ... for me").
Two or three commands joined by "and"/"then" are planned together only when every part is a
fast-path command itself ("open youtube and scroll down").

``is_complete_command(text)`` tells the VAD segmenter that what was heard so far is already a
whole command, so it can end the turn early.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sayso.browser.sites import SITES
from sayso.types import ToolCall

_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}
_TLDS = "com|org|net|io|gov|edu|co|uk|de|fr|info|dev|app|ai|me|tv|us|ca|eu|news|blog"


_LEAD = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|now|alright|right|um|uh|sayso|say so)\s+)*"
    r"(?:(?:please|can you|could you|would you|will you|can we|i want to|i'd like to|i would like to|"
    r"let's|lets|just|go ahead and|now)\s+)*"
)
_TRAIL = re.compile(r"(?:\s+(?:please|for me|now|thanks|thank you|right now|again))+$")
_PUNCT = re.compile(r"[^\w\s.'#/-]")
_LOOSE_DOT = re.compile(r"(?<![a-z0-9])\.|\.(?![a-z0-9])")
_SPOKEN_DOT = re.compile(r"\s+dot\s+(?=[a-z])")
_DOMAIN = re.compile(rf"^[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})(?:/\S*)?$")


def normalise(text: str) -> str:
    """Lower-case words with digits for numbers, spoken addresses joined, fillers dropped."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = _PUNCT.sub(" ", t)
    t = _SPOKEN_DOT.sub(".", t)
    t = _LOOSE_DOT.sub(" ", t)
    words = []
    for w in t.split():
        if w in _NUMBERS:
            w = str(_NUMBERS[w])
        elif w in _ORDINALS:
            w = f"{_ORDINALS[w]}th"
        words.append(w)
    t = " ".join(words)
    t = _LEAD.sub("", t)
    t = _TRAIL.sub("", t)
    return t.strip(" '-")


def site_for(name: str) -> str | None:
    """'wikipedia' -> 'wikipedia.org', 'stack overflow.com' -> 'stackoverflow.com', else None."""
    name = re.sub(r"\s+(?:website|web site|site|homepage|home page|page)$", "", name.strip())
    key = re.sub(r"^the\s+", "the ", name)
    for cand in (key, re.sub(r"^the\s+", "", key)):
        if cand in SITES:
            return SITES[cand]
    joined = re.sub(r"^(?:the\s+)?", "", name).replace(" ", "")
    if _DOMAIN.match(joined):
        return joined[4:] if joined.startswith("www.") else joined
    return None


Builder = Callable[[re.Match[str]], ToolCall | None]
_RULES: list[tuple[re.Pattern[str], Builder]] = []


def _rule(pattern: str) -> Callable[[Builder], Builder]:
    def deco(fn: Builder) -> Builder:
        _RULES.append((re.compile(rf"^(?:{pattern})$"), fn))
        return fn

    return deco


def _call(name: str, **args: object) -> ToolCall:
    return ToolCall(name=name, args=args)


_ORD = r"(\d{1,3})(?:st|nd|rd|th)?"

# --- stop (the agent's own tool) ---------------------------------------------------------------
_rule(r"stop|stop (?:talking|speaking|reading|that|it|there)|be quiet|quiet|shut up|silence|hush|"
      r"cancel|cancel (?:that|it)|never ?mind|forget it|that's enough|enough|ok stop|okay stop")(
    lambda m: _call("stop"))

# --- media --------------------------------------------------------------------------------------
_MEDIA = {"pause": "pause", "play": "play", "resume": "play", "unpause": "play", "continue": "play",
          "mute": "mute", "unmute": "unmute", "stop": "pause"}
_rule(r"(pause|resume|unpause|mute|unmute|play)(?: (?:the|this) (?:video|music|audio|song|sound|playback)|"
      r" it| video| music| audio| sound| playback)?")(lambda m: _call("media", action=_MEDIA[m.group(1)]))
_rule(r"(stop|continue) (?:the|this) (?:video|music|audio|song|playback)")(
    lambda m: _call("media", action=_MEDIA[m.group(1)]))
_rule(r"turn (?:the )?(?:sound|audio|volume) (off|on)|turn (off|on) the (?:sound|audio)")(
    lambda m: _call("media", action="mute" if (m.group(1) or m.group(2)) == "off" else "unmute"))

# --- scrolling (before navigation and history: "back to the top", "go up") ---------------------
_rule(r"(?:(?:scroll|go|jump|move|skip|take me|get|head)\s+)?(?:(?:back|all the way|right)\s+)?"
      r"(?:(?:up|down)\s+)?to the (top|bottom)(?: of (?:the|this) page)?|(top|bottom) of (?:the|this) page")(
    lambda m: _call("scroll", direction=m.group(1) or m.group(2)))
_rule(r"(?:(?:scroll|page|go|move)\s+)?(?:a (?:bit|little|little bit) )?(up|down)"
      r"(?: (?:a bit|a little|a little bit|some|more|a bit more|1 page|a page))?")(
    lambda m: _call("scroll", direction=m.group(1)))
_rule(r"scroll (?:all the way )?(?:to the )?(top|bottom)")(lambda m: _call("scroll", direction=m.group(1)))

# --- tabs (before navigation: "open X in a new tab", "go to tab 3") ----------------------------
_rule(r"(?:open|create|make|start|give me)?\s*(?:a |another |1 )?new tab")(lambda m: _call("new_tab"))


def _new_tab_site(m: re.Match[str]) -> ToolCall | None:
    site = site_for(m.group(1))
    return _call("new_tab", url=site) if site else None


_rule(r"open (?:up )?(.+?) in (?:a |another )?new tab")(_new_tab_site)
_rule(r"close (?:the |this )?(?:current )?tab|close it")(lambda m: _call("close_tab"))
_rule(r"(?:(?:switch|go|change|move|jump) )?(?:to |back to )?(?:the )?(next|previous|prior|last) tab")(
    lambda m: _call("switch_tab", index="previous" if m.group(1) in ("previous", "prior", "last") else "next")
    if m.group(1) != "last" else None)
_rule(rf"(?:(?:switch|go|change|move|jump) )?(?:to )?tab (?:number )?{_ORD}")(
    lambda m: _call("switch_tab", index=int(m.group(1))))
_rule(rf"(?:(?:switch|go|change|move|jump|open) )?(?:to )?(?:the )?{_ORD} tab")(
    lambda m: _call("switch_tab", index=int(m.group(1))))

# --- history ------------------------------------------------------------------------------------
_rule(r"(?:(?:go|take me|navigate|move|head|step) )?back(?: (?:to the previous page|to the last page|a page|1 page|"
      r"please))?|(?:go to )?(?:the )?previous page")(lambda m: _call("back"))
_rule(r"(?:(?:go|navigate|move|step) )?forward(?: (?:a page|1 page))?")(lambda m: _call("forward"))
_rule(r"(?:reload|refresh)(?: (?:the|this))?(?: (?:page|tab|site))?|(?:reload|refresh) it")(
    lambda m: _call("reload"))

# --- reading ------------------------------------------------------------------------------------
_rule(r"(?:what are|read|list|tell me|show me|read out|give me)(?: me)?(?: the| all the)? (?:headings|headlines|"
      r"section titles|sections)(?: (?:on|of) (?:this|the) page)?|headings")(lambda m: _call("read_headings"))
_rule(r"(?:summarize|summarise|sum up)(?: (?:it|this|the page|this page|the article|this article))?|"
      r"(?:give me|can i get|i want|i'd like)(?: a| the)? (?:quick |short |brief )?(?:summary|tldr|tl dr|gist)"
      r"(?: (?:of|for) (?:it|this|the page|this page|the article|this article))?|"
      r"what(?:'s| is) (?:this|the) (?:page|article) about|tl ?dr")(lambda m: _call("summarize_page"))
_rule(r"read(?: me)?(?: (?:it|this|the page|this page|the article|this article|the text|everything|"
      r"the whole page|the whole thing))?(?: (?:out|aloud|out loud))?(?: (?:to me|for me))?(?: (?:out loud|aloud))?")(
    lambda m: _call("read_page"))

# --- zoom -----------------------------------------------------------------------------------------
_rule(r"zoom (in|out)(?: (?:a bit|a little|more))?")(lambda m: _call("zoom", direction=m.group(1)))
_rule(r"(?:reset|undo|clear)(?: the)? zoom|zoom (?:back )?to (?:normal|default|100 percent|100%)|"
      r"(?:normal|actual|default) size")(lambda m: _call("zoom", direction="reset"))
_rule(r"make (?:the |this )?(?:text|page|font|it|everything|words)(?: a bit| a little)? (bigger|larger|smaller)")(
    lambda m: _call("zoom", direction="out" if m.group(1) == "smaller" else "in"))

# --- clicking -----------------------------------------------------------------------------------
_CLICK = r"(?:click|press|tap|select|choose|hit)(?: on)?"
_rule(rf"{_CLICK}(?: the)?(?: (?:link|result|item|option|button|number))*(?: number)? {_ORD}"
      rf"(?: (?:link|result|item|option|1|one))?")(lambda m: _call("click", index=int(m.group(1))))
_rule(rf"(?:open|follow)(?: the)? {_ORD} (?:link|result|item|option|search result)|"
      rf"(?:open|follow) (?:link|result) (?:number )?{_ORD}")(
    lambda m: _call("click", index=int(m.group(1) or m.group(2))))


def _click_text(m: re.Match[str]) -> ToolCall | None:
    text = re.sub(r"\s+(?:link|button|tab|menu|option)$", "", m.group(1)).strip()
    if not text or text in _INCOMPLETE or text in ("here", "there", "the link", "the button"):
        return None
    return _call("click", text=text)


_rule(r"(?:click|press|tap)(?: on)?(?: the)? (.+)")(_click_text)

# --- typing -------------------------------------------------------------------------------------
_rule(r"type (?:in )?(.+?) (?:in|into) (?:the )?(.+?) (?:field|box|bar|input)")(
    lambda m: _call("type", text=m.group(1), field=m.group(2)))
_rule(r"type (?:in )?(?:the words? )?(.+)")(lambda m: _call("type", text=m.group(1)))

# --- search -------------------------------------------------------------------------------------


_INCOMPLETE = frozenset({"for", "the", "a", "an", "about", "it", "that", "this", "up", "on", "for the"})


def _search(m: re.Match[str]) -> ToolCall | None:
    query = re.sub(r"\s+(?:on (?:the web|the internet|google|duckduckgo)|online)$", "", m.group(1)).strip()
    if not query or query in _INCOMPLETE or re.match(r"^(?:this|the) page\b", query) or re.match(r"^(?:\S+ ){0,2}for ", query):
        return None  # "search this page ...", "search youtube for cats": the LLM decides
    return _call("search", query=query)


_rule(r"(?:search|searching|google|look up|lookup)(?: (?:the web|the internet|online|google|on google))?(?: for)? (.+)")(
    _search)

# --- navigation (last: only known sites and spoken addresses) -------------------------------------


def _navigate(m: re.Match[str]) -> ToolCall | None:
    site = site_for(m.group(1))
    return _call("navigate", url=site) if site else None


_rule(r"(?:open(?: up)?|go to|goto|visit|navigate to|bring up|pull up|show me|take me to|load|launch|head to)"
      r" (.+)")(_navigate)
_rule(r"(\S+\.(?:" + _TLDS + r")(?:/\S*)?)")(_navigate)


def _match_one(norm: str) -> ToolCall | None:
    for pattern, build in _RULES:
        m = pattern.match(norm)
        if m:
            return build(m)  # the first rule whose pattern matches decides (None = defer)
    return None


_SPLIT = re.compile(r"\s*(?:,\s*)?\b(?:and then|and|then|after that)\b\s*")


def plan(text: str) -> list[ToolCall] | None:
    """The tool calls for ``text``, or None when the fast path is not sure (ask the LLM)."""
    norm = normalise(text)
    if not norm:
        return None
    parts = [p for p in _SPLIT.split(norm) if p]
    if 1 < len(parts) <= 3:
        calls = [_match_one(normalise(p)) for p in parts]
        if all(calls) and not any(c.name == "stop" for c in calls if c):
            return [c for c in calls if c]
    one = _match_one(norm)
    return [one] if one else None


def match(text: str) -> ToolCall | None:
    """The single tool call for ``text`` (None when unsure or when it is several commands)."""
    calls = plan(text)
    return calls[0] if calls and len(calls) == 1 else None


def is_complete_command(text: str) -> bool:
    """True when ``text`` already is a whole fast-path command (the segmenter may end the turn)."""
    return plan(text) is not None
