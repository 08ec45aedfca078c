"""A session's conversation history, kept within a token budget.

Each finished turn is stored as what the user said and what the assistant did and said. Only the
most recent turns that fit the budget go to the model; older ones are folded into one short line
("Earlier the user asked: ...") and, past that, dropped. Tokens are estimated (4 characters a
token), which is close enough for English and cheap.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sayso.types import ChatMessage, ToolCall

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


@dataclass(frozen=True, slots=True)
class Exchange:
    """One finished turn."""

    user: str
    reply: str
    calls: tuple[ToolCall, ...] = ()
    turn_id: str = ""

    def messages(self) -> list[ChatMessage]:
        if self.calls:
            call = self.calls[0]
            said = json.dumps({"tool": call.name, "args": dict(call.args)})
        else:
            said = json.dumps({"tool": "answer", "args": {"text": self.reply}})
        return [ChatMessage(role="user", content=self.user), ChatMessage(role="assistant", content=said)]


@dataclass
class Conversation:
    """History of one session. ``budget_tokens`` bounds what is sent to the model."""

    budget_tokens: int = 600
    max_turns: int = 50
    _turns: deque[Exchange] = field(default_factory=deque)

    def add(self, exchange: Exchange) -> None:
        if not exchange.user.strip():
            return
        self._turns.append(exchange)
        while len(self._turns) > self.max_turns:
            self._turns.popleft()

    @property
    def turns(self) -> Sequence[Exchange]:
        return tuple(self._turns)

    def clear(self) -> None:
        self._turns.clear()

    def __len__(self) -> int:
        return len(self._turns)

    def context(self) -> list[ChatMessage]:
        """Recent turns as messages, newest last, within the budget; older ones summarised."""
        kept: list[list[ChatMessage]] = []
        used = 0
        older: list[Exchange] = []
        for ex in reversed(self._turns):
            msgs = ex.messages()
            cost = sum(estimate_tokens(m.content) for m in msgs)
            if older or used + cost > self.budget_tokens:
                older.append(ex)
                continue
            kept.append(msgs)
            used += cost
        out: list[ChatMessage] = []
        if older:
            asked = "; ".join(ex.user[:60] for ex in reversed(older[:5]))
            out.append(ChatMessage(role="user", content=f"[earlier the user asked: {asked}]"))
            out.append(ChatMessage(role="assistant", content=json.dumps(
                {"tool": "answer", "args": {"text": "Noted."}})))
        for msgs in reversed(kept):
            out.extend(msgs)
        return out
