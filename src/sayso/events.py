"""TurnEvent: the one stream the UI, the logs, the metrics and the benchmark all read.

``TurnEvent(type, turn_id, t_ms, data)``. Each event type has one frozen payload class below;
``ev.payload`` is that typed payload (``ev.payload.delta`` for ``reply-text``, no guessing of
keys). The assistant emits the payload objects themselves; a payload is also a read-only
mapping of its fields, so ``ev.data["url"]`` and ``dict(ev.data)`` keep working for logs and
JSON. Events built elsewhere with a plain dict (the segmenter, the benchmark's baseline) are
typed on reading: ``payload`` keeps the fields it knows.

A turn ends with exactly one ``turn-end`` or ``cancelled``; both carry the turn's
:class:`TurnSummary` (what was heard, done and said, the browser after it, the timings), which
the web app, ``sayso do --json``, the metrics and the benchmark use as it is.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, cast

from sayso.browser.base import BrowserState

log = logging.getLogger(__name__)

EventType = Literal[
    "turn-start",
    "vad-start",
    "vad-end",
    "stt-partial",
    "stt-end",
    "intent-end",
    "llm-first-token",
    "llm-end",
    "tool-start",
    "tool-end",
    "reply-text",
    "tts-first-audio",
    "audio",
    "browser-state",
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


P = TypeVar("P", bound="Payload")


class Payload(Mapping[str, Any]):
    """Base of the payloads: a frozen dataclass that reads like a mapping of its fields."""

    __slots__ = ()
    type: ClassVar[str] = ""

    def __getitem__(self, key: str) -> Any:
        if key in self._names():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cast(Any, cls)))

    @classmethod
    def from_data(cls: type[P], data: Mapping[str, Any]) -> P:
        """The payload from a plain mapping: known fields only, defaults for missing ones."""
        names = cls._names()
        return cls(**{k: v for k, v in data.items() if k in names})


_frozen = dataclass(frozen=True, slots=True, eq=False)  # equality: as mappings (Mapping.__eq__)


@_frozen
class TurnStart(Payload):
    type = "turn-start"
    source: Literal["text", "voice"] = "text"
    text: str = ""  # typed text (text turns)


@_frozen
class VadStart(Payload):
    type = "vad-start"
    stream_ms: float = 0.0  # position in the audio stream
    onset_ms: float = 0.0
    continued: bool = False  # speech resumed within the same utterance


@_frozen
class VadEnd(Payload):
    type = "vad-end"
    reason: str = ""  # silence, max-length, push-to-talk, ...
    stream_ms: float = 0.0
    start_ms: float = 0.0
    speech_end_ms: float = 0.0
    end_ms: float = 0.0
    speech_ms: float = 0.0


@_frozen
class SttPartial(Payload):
    """A transcript of the utterance so far, while the user is still speaking."""

    type = "stt-partial"
    text: str = ""
    final: bool = False  # covers all the speech so far and silence followed
    audio_ms: float = 0.0
    elapsed_ms: float = 0.0
    words: str = ""  # the endpointer's judgement of the words (complete, incomplete, ...)


@_frozen
class SttEnd(Payload):
    type = "stt-end"
    text: str = ""
    no_speech_prob: float | None = 0.0  # None: the speech stage (a Wyoming peer) gives none
    avg_logprob: float | None = 0.0
    elapsed_ms: float = 0.0


@_frozen
class IntentEnd(Payload):
    type = "intent-end"
    local: bool = False  # the fast path decided (no LLM)
    tools: tuple[str, ...] | list[str] = ()  # [] for a plain answer


@_frozen
class LlmFirstToken(Payload):
    type = "llm-first-token"
    round: int | str = 0  # the decision round, or "summary"


@_frozen
class LlmEnd(Payload):
    type = "llm-end"
    round: int | str = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    prompt_ms: float = 0.0
    predicted_ms: float = 0.0


@_frozen
class ToolStart(Payload):
    type = "tool-start"
    tool: str = ""
    args: Mapping[str, Any] = field(default_factory=dict)


@_frozen
class ToolEnd(Payload):
    """A tool's result (no page data, no page text)."""

    type = "tool-end"
    tool: str = ""
    ok: bool = True
    message: str = ""
    error_code: str = ""
    args: Mapping[str, Any] = field(default_factory=dict)


@_frozen
class ReplyText(Payload):
    type = "reply-text"
    delta: str = ""  # reply text as it is produced: join the deltas for the reply


@_frozen
class TtsFirstAudio(Payload):
    type = "tts-first-audio"
    text: str = ""


@_frozen
class Audio(Payload):
    type = "audio"
    chunk: Any = None  # AudioChunk, int16 mono at the TTS rate
    text: str = ""  # the sentence


@_frozen
class BrowserStateChanged(Payload):
    """The browser after a browser tool (tabs as mappings: index, title, url, active)."""

    type = "browser-state"
    url: str = ""
    title: str = ""
    tabs: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]] = ()


@_frozen
class TtsEnd(Payload):
    type = "tts-end"


@_frozen
class ErrorEvent(Payload):
    type = "error"
    code: str = ""
    message: str = ""


@_frozen
class ActionRecord(Payload):
    """One tool call of a turn and its result. ``ok`` is None for a planned one (dry run)."""

    type = "action"
    tool: str = ""
    args: Mapping[str, Any] = field(default_factory=dict)
    ok: bool | None = None
    error: str | None = None  # the one-sentence reason when ok is False
    message: str = ""  # the browser's sentence (success or failure)
    error_code: str = ""

    def contract(self) -> dict[str, Any]:
        """ARCHITECTURE.md section 4: ``{"tool", "args", "ok", "error"}``."""
        return {"tool": self.tool, "args": dict(self.args), "ok": self.ok, "error": self.error}


@_frozen
class TurnSummary(Payload):
    """What one turn heard, did and said: the payload of ``turn-end`` and ``cancelled``."""

    type = "turn-end"
    transcript: str = ""
    reply: str = ""
    actions: tuple[ActionRecord, ...] = ()
    browser: BrowserState = field(default_factory=BrowserState)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    local: bool = False  # decided by the fast path
    cancelled: bool = False  # barge-in or stop: what was done and said so far
    empty: bool = False  # a voice turn with no speech: nothing was done or said
    source: Literal["text", "voice"] = "text"

    def browser_json(self) -> dict[str, Any]:
        b = self.browser
        return {"url": b.url, "title": b.title, "tabs": [dataclasses.asdict(t) for t in b.tabs]}

    def contract(self, transcript: str | None = None) -> dict[str, Any]:
        """The JSON object of ``sayso do --json`` (ARCHITECTURE.md section 4), keys in order."""
        return {
            "transcript": self.transcript if transcript is None else transcript,
            "actions": [a.contract() for a in self.actions],
            "reply": self.reply,
            "browser": self.browser_json(),
            "timings_ms": dict(self.timings_ms),
        }


@_frozen
class Cancelled(TurnSummary):
    type = "cancelled"
    cancelled: bool = True


PAYLOADS: dict[str, type[Payload]] = {
    cls.type: cls for cls in (
        TurnStart, VadStart, VadEnd, SttPartial, SttEnd, IntentEnd, LlmFirstToken, LlmEnd, ToolStart,
        ToolEnd, ReplyText, TtsFirstAudio, Audio, BrowserStateChanged, TtsEnd, TurnSummary, ErrorEvent,
        Cancelled,
    )
}


@dataclass(frozen=True, slots=True)
class TurnEvent:
    type: EventType
    turn_id: str
    t_ms: float = field(default_factory=now_ms)
    data: Mapping[str, Any] = field(default_factory=dict)  # the payload (a Payload is a Mapping)

    @property
    def payload(self) -> Payload:
        """The typed payload of this event (built from ``data`` when that is a plain mapping)."""
        if isinstance(self.data, Payload):
            return self.data
        return PAYLOADS[self.type].from_data(self.data or {})

    def get(self, kind: type[P]) -> P:
        """The payload as ``kind``; raises TypeError when this event is of another type."""
        p = self.payload
        if not isinstance(p, kind):
            raise TypeError(f"a {self.type} event has no {kind.__name__}")
        return p

    @property
    def summary(self) -> TurnSummary | None:
        """The turn's summary on ``turn-end`` and ``cancelled`` from the assistant; None on other
        events and on end events made without one (the benchmark's baseline)."""
        return self.data if isinstance(self.data, TurnSummary) else None


def event(type_: str, turn_id: str, **data: Any) -> TurnEvent:
    """A TurnEvent with its typed payload; unknown fields are a TypeError (a bug to fix)."""
    return TurnEvent(type=cast(EventType, type_), turn_id=turn_id, data=PAYLOADS[type_](**data))


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
                log.exception("event sink failed on %s", event.type)

    def __call__(self, event: TurnEvent) -> None:
        self.emit(event)


def durations(events: list[TurnEvent]) -> dict[str, float]:
    """Stage durations (ms) of one turn, measured from the end of speech (or the turn start)."""
    first: dict[str, float] = {}
    for ev in events:
        first.setdefault(ev.type, ev.t_ms)
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
