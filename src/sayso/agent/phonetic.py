"""Misheard names recovered by sound: the heard words against the page vocabulary.

Whisper writes what it heard as English words, not what was said: "go to the moment" for "go
to amazon", "Bring up into your times" for "bring up the new york times", "Page count" for
"page down". Compared by sound (espeak-ng's phonemes, in-process; rapidfuzz's indel distance),
the intended name is often still the nearest one by far. :func:`recover` says what the user
most likely meant and how sure that is:

* ``sure``: the match is strong and clearly better than any other target: act on it;
* not ``sure``: a plausible match, but weak or tied with another: ask ("Did you mean Amazon?");
* ``None``: nothing near enough: say nothing about it (the LLM, or "Sorry, could you repeat
  that?" for a doubtful transcript).

Two shapes are tried: a whole command phrase ("page count" -> "page down"), and a verb the
fast path knows followed by a name ("bring up" + "into your times" -> the New York Times; "click"
+ a link's text). Phonemes of the vocabulary are cached, so one utterance costs well under a
millisecond per hundred names.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process

from sayso.agent.vocabulary import CLICK_VERBS, NAV_VERBS, Term, Vocabulary, words_of
from sayso.types import ToolCall

log = logging.getLogger(__name__)

SURE = 75.0  # this similar by sound (0-100, rapidfuzz's normalised indel similarity) and ...
MARGIN = 10.0  # ... this far ahead of the next different target: act
MARGIN_OPPOSITE = 20.0  # ... this far ahead when that target means the opposite ("mute" / "unmute")
_OPPOSITES = ({"mute", "unmute"}, {"up", "down"}, {"in", "out"}, {"top", "bottom"}, {"play", "pause"},
              {"next", "previous"})
ASK = 62.0  # this similar: ask "Did you mean ...?"
MIN_PHONES = 4  # shorter heard names ("a", "it") are not compared at all
MAX_COMMAND_WORDS = 8  # longer utterances are not compared with whole command phrases
MAX_SOUND_WORDS = 4  # page names up to this many words are compared by sound; longer ones as text
CACHE_SIZE = 4096

_MARKS = re.compile(r"[ˈˌː\u0303_\-|' ]")
# sounds Whisper swaps freely are one symbol here (vowel qualities, flaps, r-coloured vowels)
_FOLD = str.maketrans({"ɐ": "ə", "ʌ": "ə", "ɜ": "ə", "ɪ": "i", "ʊ": "u", "ɑ": "a", "æ": "a", "ɔ": "o",
                       "ɒ": "o", "ɛ": "e", "ɾ": "t", "ɹ": "r", "ɚ": "ər", "ᵻ": "i", "ɡ": "g"})
_NEW_TAB = re.compile(r"\s+in\s+(?:a\s+|another\s+)?new\s+tab$")
_FILLER = re.compile(r"^(?:(?:the|a|an|to|on|at|my|this|that)\s+)+|\s+(?:website|web site|site|homepage|"
                     r"home page|page|link|button|tab)$")


class _Cache:
    """Sounds by words, least recently used dropped first; shared by the event loop and the
    thread that prepares a new page's names."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.data: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, text: str) -> str:
        with self.lock:
            hit = self.data.get(text)
            if hit is not None:
                self.data.move_to_end(text)
                return hit
        value = _compute(text)
        with self.lock:
            self.data[text] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


def _compute(text: str) -> str:
    from sayso.tts.espeak import text_to_phonemes

    try:
        ipa = text_to_phonemes(text)
    except Exception as exc:  # no espeak-ng: fall back to spelling (still catches small slips)
        log.debug("no phonemes for %r: %s", text, exc)
        ipa = text
    return _MARKS.sub("", ipa).translate(_FOLD)


_CACHE = _Cache()


def phonemes(text: str) -> str:
    """A compact sound key for ``text``: folded IPA without stress, length or word breaks."""
    words = words_of(text)
    return _CACHE.get(words) if words else ""


def by_sound(term: Term) -> bool:
    """Whether ``term`` is compared by sound (long page titles are compared as text)."""
    return term.kind in ("command", "site") or term.key.count(" ") < MAX_SOUND_WORDS


def prepare(vocab: Vocabulary) -> None:
    """Compute (cache) the sounds of the vocabulary's names: after a browser state, not per utterance."""
    for term in (*vocab.commands, *vocab.site_terms, *vocab.page):
        if by_sound(term) and term.key:
            _CACHE.get(term.key)


_PREPARING: set[asyncio.Task[None]] = set()


def prepare_soon(vocab: Vocabulary) -> None:
    """:func:`prepare` in a worker thread, not awaited: the reply is not held up by it (a name
    not ready yet when the user speaks is sounded out then, the same way)."""
    task = asyncio.get_running_loop().create_task(asyncio.to_thread(prepare, vocab))
    _PREPARING.add(task)
    task.add_done_callback(_PREPARING.discard)


@dataclass(frozen=True, slots=True)
class Guess:
    """What the user most likely meant, and whether that is sure enough to act on."""

    call: ToolCall
    term: Term
    score: float
    sure: bool
    runner_up: Term | None = None

    @property
    def question(self) -> str:
        """The one question to ask when not sure ("Did you mean Amazon?")."""
        if self.term.kind == "site":
            return f"Did you mean {_title(self.term.text)}?"
        return f"Did you mean '{self.term.text}'?"  # a command phrase, or the words of a link


_ACRONYMS = frozenset({"bbc", "nyt", "imdb"})


def _title(name: str) -> str:
    """A site name as written: 'new york times' -> 'New York Times', 'bbc news' -> 'BBC News'."""
    return " ".join(w.upper() if w in _ACRONYMS else w.capitalize() for w in name.split())


def _split_verb(norm: str, verbs: tuple[str, ...]) -> tuple[str, str] | None:
    for verb in verbs:
        if norm.startswith(verb + " "):
            return verb, norm[len(verb) + 1:]
    return None


def _best(heard: str, terms: list[Term]) -> list[tuple[float, Term]]:
    key = phonemes(heard)
    if len(key) < MIN_PHONES:
        return []
    sound = [t for t in terms if by_sound(t)]
    text = [t for t in terms if not by_sound(t)] if len(heard) >= 4 else []
    # rapidfuzz compares the whole list in C: a few hundred names cost well under a millisecond
    scored = [(float(s), sound[i]) for _, s, i in process.extract(
        key, [_CACHE.get(t.key) for t in sound], scorer=fuzz.ratio, limit=None)]  # keys: already words
    scored += [(float(s), text[i]) for _, s, i in process.extract(
        heard, [t.key for t in text], scorer=fuzz.token_set_ratio, limit=None)]  # long titles: by words
    scored.sort(key=lambda st: -st[0])
    return scored


def _opposite(a: ToolCall, b: ToolCall) -> bool:
    """Same tool, and arguments that mean the opposite ("mute" and "unmute")."""
    if a.name != b.name:
        return False
    values = {str(v) for v in (*a.args.values(), *b.args.values())}
    return any(pair <= values for pair in _OPPOSITES)


def _verdict(scored: list[tuple[float, Term]]) -> Guess | None:
    if not scored or scored[0][0] < ASK:
        return None
    top, term = scored[0]
    runner = next(((s, t) for s, t in scored[1:] if dict(t.call.args) != dict(term.call.args)
                   or t.call.name != term.call.name), None)
    # a runner-up that means the opposite (mute/unmute, page up/down): a slip flips the meaning,
    # so it must be further behind
    margin = MARGIN_OPPOSITE if runner is not None and _opposite(term.call, runner[1].call) else MARGIN
    sure = top >= SURE and (runner is None or top - runner[0] >= margin)
    return Guess(call=term.call, term=term, score=round(top, 1), sure=sure,
                 runner_up=runner[1] if runner else None)


def recover(norm: str, vocab: Vocabulary, raw: str = "") -> Guess | None:
    """The likeliest meaning of the (normalised) utterance ``norm``, or None.

    ``norm`` is the fast path's normalised text; call this only when the fast path found
    nothing (an exact command is always better than a recovered one). ``raw``, the words as
    heard, is what whole command phrases are compared with ("third", not the fast path's "3th").
    """
    norm = words_of(norm)
    if not norm:
        return None
    guesses: list[Guess] = []
    nav = _split_verb(norm, NAV_VERBS)
    if nav is not None:
        rest, in_tab = _NEW_TAB.subn("", nav[1])  # "open X in a new tab"
        name = _FILLER.sub("", rest).strip() or rest
        page_terms = [t for t in vocab.page if t.kind != "field"] if not in_tab else []
        g = _verdict(_best(name, [*vocab.site_terms, *page_terms]))
        if g is not None and in_tab:
            g = replace(g, call=ToolCall(name="new_tab", args=dict(g.call.args)))
        if g is not None:
            guesses.append(g)
    click = _split_verb(norm, CLICK_VERBS)
    if click is not None:
        name = _FILLER.sub("", click[1]).strip() or click[1]
        g = _verdict(_best(name, list(vocab.page)))
        if g is not None:
            guesses.append(g)
    if not guesses and len(norm.split()) <= MAX_COMMAND_WORDS:  # a whole command phrase, misheard
        g = _verdict(_best(words_of(raw) or norm, list(vocab.commands)))
        if g is not None:
            guesses.append(g)
    if not guesses:
        return None
    return max(guesses, key=lambda g: (g.sure, g.score))
