"""No text of our own prompts reaches the user.

A small model sometimes answers with its instructions ("If the request needs another step, reply
with the next tool; otherwise answer briefly." was heard by a user). ``EchoGuard`` sits between
the model's streamed answer and the speaker: it holds back the end of the text while it could
still be the start of a prompt line (usually a word or two, until the next token shows it is not),
and drops the answer from the first prompt line on. Matching ignores case and runs of spaces.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sayso.agent import prompts

log = logging.getLogger(__name__)
HELD_WORDS_LEAK = 4  # a cut-off answer that is the first 4+ words of a prompt line is an echo too


def _normalize(text: str) -> tuple[str, list[int]]:
    """Lower case, whitespace runs as one space; and each normalized char's index in ``text``."""
    out: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace():
            if out and out[-1] == " ":
                continue
            ch = " "
        out.append(ch.lower())
        pos.append(i)
    return "".join(out), pos


class EchoGuard:
    """Feed it the answer's deltas; it returns what may be said now."""

    def __init__(self, lines: Sequence[str] | None = None) -> None:
        self._lines = [_normalize(line)[0] for line in (lines if lines is not None else prompts.prompt_lines())]
        self._longest = max((len(line) for line in self._lines), default=0)
        self._raw = ""
        self._sent = 0
        self.leaked = False

    def feed(self, delta: str) -> str:
        if self.leaked or not delta:
            return ""
        self._raw += delta
        norm, pos = _normalize(self._raw)
        if any(line in norm for line in self._lines):
            self._leak()
            return ""
        hold = self._possible_start(norm)
        cut = pos[hold] if hold < len(norm) else len(self._raw)
        out = self._raw[self._sent:cut] if cut > self._sent else ""
        self._sent = max(self._sent, cut)
        return out

    def finish(self) -> str:
        """The rest, once the answer is complete (or cut off): said unless it is a prompt's start."""
        if self.leaked:
            return ""
        norm, pos = _normalize(self._raw)
        hold = self._possible_start(norm)
        if hold < len(norm) and len(norm[hold:].split()) >= HELD_WORDS_LEAK:
            self._leak()
            return self._raw[self._sent:pos[hold]] if pos[hold] > self._sent else ""
        out, self._sent = self._raw[self._sent:], len(self._raw)
        return out

    def _possible_start(self, norm: str) -> int:
        """The first word start from which the rest of ``norm`` begins some prompt line."""
        first = max(0, len(norm) - self._longest)
        for start in range(first, len(norm)):
            if start and norm[start - 1] != " ":
                continue
            tail = norm[start:].lstrip()
            if tail and any(line.startswith(tail) for line in self._lines):
                return start
        return len(norm)

    def _leak(self) -> None:
        self.leaked = True
        log.warning("the language model repeated its own instructions; that part is not said")


def leaks(text: str) -> bool:
    """Whether ``text`` contains a line of our prompts (for replies that are not streamed)."""
    guard = EchoGuard()
    guard.feed(text)
    guard.finish()
    return guard.leaked
