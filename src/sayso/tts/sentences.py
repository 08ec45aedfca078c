"""Split a stream of text deltas into sentences, each yielded as soon as it is complete.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (closing quotes and brackets included) followed
by whitespace, or at a line break. Not an end: abbreviations ("Dr. Smith", "e.g. this"),
decimals and versions ("3.5", "v2.0"), URLs and file names ("example.com/a.html"), initials
("J. R. R. Tolkien"), list markers ("1. First"), and an ellipsis followed by a lower-case word.
Because an end needs the next character, the splitter waits for it; :meth:`flush` at the end
of the stream yields the tail.

The voice starts sooner: the first piece of a reply is cut at its first clause boundary (comma,
semicolon, dash, colon followed by a space) once ``first_clause_words`` words precede it ("Sure,"
is too short; "The Mona Lisa was painted," is cut), or with one word more before a linking word
("The Mona Lisa was painted | by Leonardo da Vinci."), and, when it has no such boundary early, at
its last one once it grows past ``first_max_chars``. Later sentences are kept whole.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator

ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "e.g", "i.e",
        "eg", "ie", "inc", "ltd", "co", "corp", "fig", "figs", "approx", "dept", "vol", "cf",
        "al", "sgt", "capt", "lt", "rev", "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept",
        "oct", "nov", "u.s", "u.k", "a.m", "p.m", "ph.d",
    }
)
# abbreviations only before a number: "No. 5", "p. 12"
NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "p", "pp", "vol", "ch", "art", "sec"})
_TERMINATORS = ".!?…"
_CLOSERS = "\"')]}”’»"
_CLAUSE = re.compile(r"[,;:—–](?=\s)|\s-\s")
_WORD = re.compile(r"\w+(?:['’.]\w+)*")
FIRST_CLAUSE_WORDS = 4
# a linking word that starts a phrase, written whole (a space after it): the first piece may end before it
_LINK = re.compile(r"\s(?=(?:by|in|on|at|from|with|for|and|but|or|which|who|because|when|where|since|"
                   r"during|after|before|until|while|than)\s)", re.I)
_TERMINATOR_SEEN = re.compile(r"[.!?…]")
_LIST_MARKER = re.compile(r"(?:^|\n)\s*(?:\d{1,3}|[a-zA-Z])$")


class SentenceSplitter:
    """Push-style splitter: ``push(delta) -> [sentences]``, then ``flush() -> [tail]``."""

    def __init__(self, *, first_max_chars: int = 90, first_min_chars: int = 25,
                 first_clause_words: int = FIRST_CLAUSE_WORDS) -> None:
        self._buf = ""
        self._emitted = 0
        self.first_max_chars = first_max_chars
        self.first_min_chars = first_min_chars
        self.first_clause_words = first_clause_words  # 0: no early clause cut

    def push(self, delta: str) -> list[str]:
        self._buf += delta
        out: list[str] = []
        while True:
            cut = self._find_end(self._buf)
            if cut is None:
                break
            sentence, self._buf = self._buf[:cut], self._buf[cut:]
            self._add(out, sentence)
        if self._emitted == 0 and not out:
            cut = self._first_clause(self._buf)
            if cut is None and len(self._buf) > self.first_max_chars:
                cut = self._clause_cut(self._buf)
            if cut is not None:
                sentence, self._buf = self._buf[:cut], self._buf[cut:]
                self._add(out, sentence)
        return out

    def flush(self) -> list[str]:
        out: list[str] = []
        tail, self._buf = self._buf, ""
        self._add(out, tail)
        return out

    def _add(self, out: list[str], sentence: str) -> None:
        text = sentence.strip()
        if text and any(ch.isalnum() for ch in text):
            out.append(text)
            self._emitted += 1
        elif text and out:  # stray punctuation: keep it with the previous sentence
            out[-1] += text

    # ---------------------------------------------------------------- rules
    def _find_end(self, buf: str) -> int | None:
        i = 0
        n = len(buf)
        while i < n:
            ch = buf[i]
            if ch == "\n":
                if buf[:i].strip():
                    return i + 1
                i += 1
                continue
            if ch in _TERMINATORS:
                j = i
                while j < n and buf[j] in _TERMINATORS:
                    j += 1
                while j < n and buf[j] in _CLOSERS:
                    j += 1
                if j >= n:
                    return None  # need the next character to decide
                if buf[j].isspace() and self._is_end(buf, i, j):
                    return j
                i = j
                continue
            i += 1
        return None

    def _is_end(self, buf: str, i: int, j: int) -> bool:
        """Is the terminator run buf[i:j] (followed by whitespace) a sentence end?"""
        run = buf[i:j].rstrip(_CLOSERS)
        rest = buf[j:].lstrip(" \t")
        nxt = rest[:1]
        if not nxt:
            # only whitespace so far: a newline decides, else wait for the next word
            return "\n" in buf[j:] or False
        if nxt == "\n":
            return True
        if run in ("...", "…") and nxt.islower():
            return False  # "wait... what"
        if run != ".":
            return True
        word = re.search(r"([\w.]+)$", buf[:i])
        token = word.group(1).lower() if word else ""
        if token in ABBREVIATIONS or token.rstrip(".") in ABBREVIATIONS:
            return False
        if token in NUMBER_ABBREVIATIONS and nxt.isdigit():
            return False
        raw = word.group(1) if word else ""
        if len(raw) == 1 and raw.isupper() and raw not in "IA" and nxt.isupper():
            return False  # an initial: "J. Smith"
        if _LIST_MARKER.search(buf[:i]):
            return False  # "1. First item"
        return not nxt.islower() or nxt.isdigit()

    def _first_clause(self, buf: str) -> int | None:
        """The end of the first clause with at least ``first_clause_words`` words, if written: at
        a clause mark, or (one word later) before a linking word ("was painted | by Leonardo")."""
        if self.first_clause_words <= 0:
            return None
        for m in _CLAUSE.finditer(buf):
            if len(_WORD.findall(buf[:m.start()])) >= self.first_clause_words:
                return m.end()
        if _TERMINATOR_SEEN.search(buf):
            return None  # a sentence end is near: it is cut there
        for m in _LINK.finditer(buf):
            if len(_WORD.findall(buf[:m.start()])) > self.first_clause_words:
                return m.start()
        return None

    def _clause_cut(self, buf: str) -> int | None:
        best = None
        for m in _CLAUSE.finditer(buf):
            if m.end() >= self.first_min_chars:
                best = m.end()
        return best


async def split_sentences(deltas: AsyncIterable[str], *, first_max_chars: int = 90,
                          first_clause_words: int = FIRST_CLAUSE_WORDS) -> AsyncIterator[str]:
    """Async sentences from async text deltas (e.g. an LLM stream), each as soon as complete."""
    splitter = SentenceSplitter(first_max_chars=first_max_chars, first_clause_words=first_clause_words)
    async for delta in deltas:
        for sentence in splitter.push(delta):
            yield sentence
    for sentence in splitter.flush():
        yield sentence


def split_text(text: str) -> list[str]:
    """All sentences of a whole text."""
    splitter = SentenceSplitter(first_max_chars=10**9, first_clause_words=0)
    return splitter.push(text) + splitter.flush()
