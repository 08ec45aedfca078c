"""A session's conversation history, kept within a token budget and prefix-stable.

Each finished turn is stored as the user message exactly as it was sent to the model (with the
``[current page: ...]`` context it had then) and what the assistant did or said. The messages
for turn N+1 therefore start with the messages of turn N byte for byte, so llama.cpp's prompt
cache reuses everything up to the new utterance instead of recomputing the history each turn.

The history sent to the model is a window of recent whole turns (a user message and its
assistant reply are never split) within ``budget_tokens``. When the window overflows, the oldest
turns are dropped down to half the budget in one go: the prefix changes (one cache miss) once
every several turns rather than on every turn. Dropped turns are recalled in one short line
("[earlier the user asked: ...]") that only changes when the window moves. Tokens are estimated
(4 characters a token), which is close enough for English and cheap.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sayso.types import ChatMessage, ToolCall

CHARS_PER_TOKEN = 4
RECALL = 3  # dropped turns recalled in the "earlier" line
RECALL_CHARS = 50


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


@dataclass(frozen=True, slots=True)
class Exchange:
    """One finished turn. ``said`` is the user message as sent to the model ('' = ``user``)."""

    user: str
    reply: str
    calls: tuple[ToolCall, ...] = ()
    turn_id: str = ""
    said: str = ""

    def messages(self) -> list[ChatMessage]:
        if self.calls:
            call = self.calls[0]
            did = json.dumps({"tool": call.name, "args": dict(call.args)})
        else:
            did = self.reply  # an answer is plain text, as the model wrote it
        return [ChatMessage(role="user", content=self.said or self.user),
                ChatMessage(role="assistant", content=did)]

    def tokens(self) -> int:
        return sum(estimate_tokens(m.content) for m in self.messages())


@dataclass
class Conversation:
    """History of one session. ``budget_tokens`` bounds what is sent to the model."""

    budget_tokens: int = 600
    max_turns: int = 50
    _turns: deque[Exchange] = field(default_factory=deque)
    _start: int = 0  # index in _turns of the first turn in the window sent to the model

    def add(self, exchange: Exchange) -> None:
        if not exchange.user.strip():
            return
        self._turns.append(exchange)
        while len(self._turns) > self.max_turns:
            self._turns.popleft()
            self._start = max(0, self._start - 1)
        self._fit()

    @property
    def turns(self) -> Sequence[Exchange]:
        return tuple(self._turns)

    def clear(self) -> None:
        self._turns.clear()
        self._start = 0

    def __len__(self) -> int:
        return len(self._turns)

    def context(self) -> list[ChatMessage]:
        """The window of recent turns as messages, oldest first, after the "earlier" line."""
        turns = list(self._turns)
        out = self._recall(turns[:self._start])
        for ex in turns[self._start:]:
            out.extend(ex.messages())
        return out

    @staticmethod
    def _recall(dropped: list[Exchange]) -> list[ChatMessage]:
        if not dropped:
            return []
        asked = "; ".join(ex.user[:RECALL_CHARS] for ex in dropped[-RECALL:])
        return [ChatMessage(role="user", content=f"[earlier the user asked: {asked}]"),
                ChatMessage(role="assistant", content="Noted.")]

    def _fit(self) -> None:
        """Over budget: drop the oldest whole turns down to half the budget (at once)."""
        if self._tokens() <= self.budget_tokens:
            return
        while self._start < len(self._turns) - 1 and self._tokens() > self.budget_tokens // 2:
            self._start += 1
        if self._tokens() > self.budget_tokens:  # the newest turn alone is too long for the budget
            self._start = len(self._turns)

    def _tokens(self) -> int:
        turns = list(self._turns)
        recall = sum(estimate_tokens(m.content) for m in self._recall(turns[:self._start]))
        return recall + sum(ex.tokens() for ex in turns[self._start:])
