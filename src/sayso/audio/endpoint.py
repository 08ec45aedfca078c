"""When does a turn end? The endpoint policy: how much trailing silence ends it, given the words.

Silence alone is a poor judge: "scroll down" is finished the moment it is said, while "search
for ..." is not, however long the user thinks. The segmenter asks :func:`silence_to_end` after
each 32 ms frame of silence, with what the words so far are (:func:`classify`, on the latest
transcript of the utterance) and whether that transcript is *fresh* (it covers every speech
frame heard so far, so it is what the final transcript will say):

=====================================  =================================================
the words so far                       silence that ends the turn
=====================================  =================================================
a complete command (fresh)             ``vad_silence_complete_ms`` (~250 ms)
an unfinished request                  ``vad_silence_incomplete_ms`` ("search for", "what
                                       is the", a trailing "and"/"the"/"for")
anything else (fresh)                  ``vad_silence_ms``
not known yet, a transcript is coming  wait for it, at most ``vad_silence_incomplete_ms``
no transcriber at all                  ``vad_silence_ms``
=====================================  =================================================

A stale transcript (one that misses the last words) never shortens the wait, it can only
lengthen it: "search for" heard 300 ms ago still says the request is unfinished.

Pure functions of text and numbers: unit-tested without audio or clocks.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from sayso.config import Settings


class Words(enum.Enum):
    """What the words heard so far say about the end of the turn."""

    COMPLETE = "complete"  # a whole command: act now
    UNFINISHED = "unfinished"  # the request has only begun: wait longer
    OPEN = "open"  # a sentence that may or may not go on: the default wait
    UNKNOWN = "unknown"  # no transcript yet


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    silence_ms: float = 450.0
    complete_ms: float = 250.0
    incomplete_ms: float = 1200.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EndpointConfig:
        return cls(silence_ms=float(settings.vad_silence_ms),
                   complete_ms=float(settings.vad_silence_complete_ms),
                   incomplete_ms=float(settings.vad_silence_incomplete_ms))

    @property
    def longest_ms(self) -> float:
        return max(self.silence_ms, self.complete_ms, self.incomplete_ms)


# words after which an English request cannot end: articles, prepositions, conjunctions,
# auxiliaries and the like ("search for", "what is the", "open google and")
_OPEN_ENDED = frozenset("""
a an the my your our their some any every each
for to of into onto than and or but nor because if plus then
it's i'm i'd i'll you're let's what's whats where's who's how's
""".split())
# a command verb (or asking phrase) alone: its object is still to come ("search ...", "tell me ...")
_BARE = re.compile(
    r"^(?:(?:hey|ok|okay|so|um|uh|and|please|can you|could you|would you|i want to|i'd like to)\s+)*"
    r"(?:search|search for|google|look up|find|open|go|go to|visit|type|click|click on|press|play|"
    r"show|show me|tell me|tell me about|read|switch to|navigate to|take me to|"
    r"(?:what|who|where|when|why|how|which)(?: (?:is|are|was|were|do|does|did|can|could|would|"
    r"should|will|about))?(?: (?:i|you|we|they|it))?)$"
)
# Whisper writes "Search for..." or "cheap-" when the voice trails off mid-request
_TRAILING_OFF = re.compile(r"(?:\.\.\.|…|-|—)\s*$")
_COMMA = re.compile(r",\s*$")
_NON_WORD = re.compile(r"[^\w\s']")


def _norm(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.lower().replace("’", "'")).split())


def is_unfinished(text: str) -> bool:
    """True when ``text`` reads as a request that has only begun ("search for", "what is the")."""
    stripped = text.strip()
    if not stripped:
        return False
    if _TRAILING_OFF.search(stripped) or _COMMA.search(stripped):
        return True
    norm = _norm(stripped)
    if not norm:
        return False
    if _BARE.match(norm):
        return True
    return norm.rsplit(" ", 1)[-1] in _OPEN_ENDED


def classify(text: str | None, is_complete: Callable[[str], bool] | None = None) -> Words:
    """The :class:`Words` of a transcript; ``is_complete`` is e.g. the fast path's predicate."""
    if text is None or not text.strip():
        return Words.UNKNOWN
    if _TRAILING_OFF.search(text.strip()):  # "Search for cheap..." is not a search for "cheap"
        return Words.UNFINISHED
    if is_complete is not None and is_complete(text):  # before the word rules: "zoom in" is whole
        return Words.COMPLETE
    if is_unfinished(text):
        return Words.UNFINISHED
    return Words.OPEN


def silence_to_end(cfg: EndpointConfig, words: Words, *, fresh: bool, waiting: bool) -> float:
    """Milliseconds of trailing silence after which the turn ends.

    ``words``: :func:`classify` of the latest transcript; ``fresh``: it covers all the speech
    so far; ``waiting``: a transcription that will cover it all is running (or about to run).
    """
    if words is Words.UNFINISHED:
        return cfg.longest_ms
    if fresh:
        if words is Words.COMPLETE:
            return cfg.complete_ms
        return cfg.silence_ms
    if waiting:  # the words decide: hold on until they are known (bounded)
        return cfg.longest_ms
    return cfg.silence_ms
