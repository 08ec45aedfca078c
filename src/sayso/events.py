"""TurnEvent: the one stream the UI, the logs, the metrics and the benchmark all read."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal[
    "turn-start",
    "vad-start",
    "vad-end",
    "stt-partial",  # data: {text, audio_ms, elapsed_ms, final, words} while the user speaks
    "stt-end",
    "intent-end",
    "llm-first-token",
    "llm-end",
    "tool-start",
    "tool-end",
    "reply-text",
    "tts-first-audio",
    "audio",  # data: {"chunk": AudioChunk (int16 mono), "text": the sentence}
    "browser-state",  # data: {"url", "title", "tabs"} after browser actions
    "tts-end",
    "turn-end",
    "error",
    "cancelled",
]


def now_ms() -> float:
    """Monotonic milliseconds: the clock every event uses."""
    return time.monotonic() * 1000.0


def new_turn_id() -> str:
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True, slots=True)
class TurnEvent:
    type: EventType
    turn_id: str
    t_ms: float = field(default_factory=now_ms)
    data: Mapping[str, Any] = field(default_factory=dict)


EventSink = Callable[[TurnEvent], None]


class EventFanout:
    """Delivers each event to every subscriber; a failing subscriber never breaks a turn."""

    def __init__(self) -> None:
        self._sinks: list[EventSink] = []

    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    def emit(self, event: TurnEvent) -> None:
        for sink in list(self._sinks):
            try:
                sink(event)
            except Exception:  # a broken observer must not break the turn
                import logging

                logging.getLogger(__name__).exception("event sink failed on %s", event.type)

    def __call__(self, event: TurnEvent) -> None:
        self.emit(event)


def durations(events: list[TurnEvent]) -> dict[str, float]:
    """Stage durations (ms) of one turn, measured from the end of speech (or the turn start)."""
    first: dict[str, float] = {}
    for ev in events:
        key = ev.type if ev.type != "tool-end" else "tool-end"
        first.setdefault(key, ev.t_ms)
    t0 = first.get("vad-end", first.get("turn-start"))
    if t0 is None:
        return {}
    out: dict[str, float] = {}
    for name, key in (
        ("stt", "stt-end"),
        ("intent", "intent-end"),
        ("first_token", "llm-first-token"),
        ("action", "tool-end"),
        ("first_audio", "tts-first-audio"),
        ("total", "turn-end"),
    ):
        if key in first:
            out[name] = round(first[key] - t0, 1)
    return out
