"""Turn records and their statistics: marks from the end of speech, medians, p90, WER.

Every time here comes from a turn's TurnEvents. The one number that is not an event time is
where speech ended, which the benchmark knows exactly from how the clip was rendered: it is
placed on the events' clock by :func:`eos_ms` (see there).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from sayso.events import TurnEvent

#: what is measured, each from the end of speech (ms), in pipeline order
MARKS = ("endpoint", "transcript", "intent", "action", "first_audio", "total")
MARK_TITLES = {
    "endpoint": "end of turn detected",
    "transcript": "transcript",
    "intent": "intent / first token",
    "action": "browser action done",
    "first_audio": "first audio out",
    "total": "turn done",
}
#: scenario kinds, as the issue names them
KINDS = ("fast", "llm", "question")
KIND_TITLES = {
    "fast": "browser command, fast path",
    "llm": "browser command, via LLM",
    "question": "spoken question",
}
SYSTEMS = ("sayso", "baseline")
#: event data kept in bench.json (small, no page text, no audio)
EVENT_KEYS = frozenset({"reason", "local", "tools", "tool", "ok", "round", "prompt_tokens",
                        "cached_tokens", "completion_tokens", "prompt_ms", "predicted_ms", "code",
                        "error_code", "stream_ms", "speech_end_ms"})


@dataclass(slots=True)
class TurnRecord:
    """One scenario replayed through one system, with its events (times in ms)."""

    scenario_id: str
    system: str  # "sayso" | "baseline"
    group: str  # "command" | "question" (from the scenario set)
    text: str
    expected: str
    voice: str
    condition: str
    speech_end_ms: float  # in the clip
    eos_t_ms: float | None = None  # end of speech on the events' clock
    events: list[TurnEvent] = field(default_factory=list)
    kind: str = ""  # fast | llm | question, set after the run
    error: str = ""  # a failure of the run itself (not a tool failure)

    # --- derived from events ---------------------------------------------------------------
    def first(self, type_: str) -> TurnEvent | None:
        return next((e for e in self.events if e.type == type_), None)

    def last(self, type_: str) -> TurnEvent | None:
        return next((e for e in reversed(self.events) if e.type == type_), None)

    @property
    def transcript(self) -> str:
        ev = self.first("stt-end")
        return str(ev.data.get("text", "")) if ev else ""

    @property
    def local(self) -> bool | None:
        ev = self.first("intent-end")
        return None if ev is None else bool(ev.data.get("local"))

    @property
    def tools(self) -> list[dict[str, Any]]:
        out, args = [], {}
        for e in self.events:
            if e.type == "tool-start":
                args[e.data.get("tool")] = dict(e.data.get("args") or {})
            elif e.type == "tool-end":
                out.append({"tool": e.data.get("tool"), "args": args.get(e.data.get("tool"), {}),
                            "ok": e.data.get("ok")})
        return out

    @property
    def error_codes(self) -> list[str]:
        return [str(e.data.get("code", "")) for e in self.events if e.type == "error"]

    def marks(self) -> dict[str, float]:
        """Milliseconds from the end of speech to each mark that happened in this turn."""
        if self.eos_t_ms is None:
            return {}
        t0 = self.eos_t_ms
        out: dict[str, float] = {}
        pick = {
            "endpoint": self.first("vad-end"),
            "transcript": self.first("stt-end"),
            "intent": self._intent_event(),
            "action": self.last("tool-end"),
            "first_audio": self.first("tts-first-audio"),
            "total": self.last("turn-end") or self.last("cancelled"),
        }
        for name in MARKS:
            ev = pick[name]
            if ev is not None:
                out[name] = round(ev.t_ms - t0, 1)
        return out

    def _intent_event(self) -> TurnEvent | None:
        intent = self.first("intent-end")
        token = self.first("llm-first-token")
        if intent is not None and intent.data.get("local"):
            return intent
        if token is not None and (intent is None or token.t_ms <= intent.t_ms):
            return token
        return intent

    def in_order(self) -> bool:
        """Events of the turn arrive in time order and in the pipeline's causal order."""
        times = [e.t_ms for e in self.events]
        if times != sorted(times):
            return False
        pos = {t: i for i, t in reversed(list(enumerate(e.type for e in self.events)))}
        chain = [t for t in ("vad-start", "vad-end", "stt-end", "intent-end") if t in pos]
        if any(pos[a] > pos[b] for a, b in zip(chain, chain[1:], strict=False)):
            return False
        end = self.last("turn-end")
        return end is None or end is self.events[-1]

    def to_json(self) -> dict[str, Any]:
        t0 = self.eos_t_ms
        return {
            "scenario": self.scenario_id, "system": self.system, "kind": self.kind,
            "group": self.group, "text": self.text, "expected": self.expected,
            "voice": self.voice, "condition": self.condition, "transcript": self.transcript,
            "local": self.local, "tools": self.tools, "errors": self.error_codes,
            "run_error": self.error, "marks_ms": self.marks(), "events_in_order": self.in_order(),
            "events": [{"type": e.type, "t_ms": round(e.t_ms - t0, 1) if t0 is not None else None,
                        **{k: v for k, v in e.data.items() if k in EVENT_KEYS}}
                       for e in self.events if e.type not in ("audio", "reply-text")],
        }


def eos_paced(t_first_chunk_ms: float, speech_end_in_clip_ms: float) -> float:
    """End of speech on the events' clock for a clip fed in real time.

    Chunk ``k`` is handed over no earlier than ``t_first_chunk + (its last sample's time)``, the
    way a microphone delivers it, so speech ended ``speech_end`` after the first chunk's time.
    """
    return t_first_chunk_ms + speech_end_in_clip_ms


def eos_unpaced(vad_end: TurnEvent, speech_end_in_clip_ms: float, chunk_ms: float = 0.0) -> float:
    """End of speech on the events' clock for a clip fed as fast as it goes.

    Only for designs that do no work while the user speaks (the baseline): in real time the
    endpointer decides once the chunk holding the audio up to ``vad_end.data["stream_ms"]`` has
    arrived, i.e. at the end of that ``chunk_ms`` chunk, which is that long after the end of
    speech; nothing else differs.
    """
    stream_ms = float(vad_end.data.get("stream_ms", speech_end_in_clip_ms))
    if chunk_ms > 0:
        stream_ms = math.ceil(stream_ms / chunk_ms - 1e-9) * chunk_ms
    return vad_end.t_ms - max(0.0, stream_ms - speech_end_in_clip_ms)


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """median, p90, max and n (None when there are no values)."""
    if not values:
        return {"median": None, "p90": None, "max": None, "n": 0}
    arr = np.asarray(values, dtype=float)
    return {"median": round(float(np.median(arr)), 1), "p90": round(float(np.percentile(arr, 90)), 1),
            "max": round(float(arr.max()), 1), "n": int(arr.size)}


def classify(records: Iterable[TurnRecord]) -> None:
    """Give each scenario its kind from how OUR pipeline handled it; the baseline's record of
    the same scenario gets the same kind, so the two are compared on the same turns."""
    recs = list(records)
    kinds: dict[str, str] = {}
    for r in recs:
        if r.system != "sayso":
            continue
        if r.group == "question":
            kinds[r.scenario_id] = "question"
        else:
            kinds[r.scenario_id] = "fast" if r.local else "llm"
    for r in recs:
        r.kind = kinds.get(r.scenario_id, "question" if r.group == "question" else "llm")


def table(records: Sequence[TurnRecord]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """kind -> system -> mark -> summary."""
    return table_from_marks([(r.kind, r.system, r.marks()) for r in records if not r.error])


def table_from_marks(turns: Iterable[tuple[str, str, Mapping[str, float]]]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """:func:`table` from (kind, system, marks) rows (e.g. read back from bench.json)."""
    turns = list(turns)
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for kind in KINDS:
        for system in SYSTEMS:
            rows = [m for k, s, m in turns if k == kind and s == system]
            out.setdefault(kind, {})[system] = {m: summarize([x[m] for x in rows if m in x]) for m in MARKS}
    return out


def ratios(tab: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]]) -> dict[str, dict[str, float | None]]:
    """Ours / baseline, per kind, of the median first audio, action done and turn total."""
    out: dict[str, dict[str, float | None]] = {}
    for kind, systems in tab.items():
        out[kind] = {}
        for mark in ("first_audio", "action", "total"):
            ours = systems["sayso"][mark]["median"]
            base = systems["baseline"][mark]["median"]
            out[kind][mark] = round(ours / base, 2) if ours is not None and base else None
    return out


SEGMENTS = {"endpoint": "endpointing", "transcript": "stt", "intent": "intent/llm",
            "action": "browser", "first_audio": "tts", "total": "rest"}


def stage_breakdown(records: Sequence[TurnRecord]) -> dict[str, dict[str, dict[str, float]]]:
    """kind -> system -> stage -> mean ms: each turn's marks, in the order they happened, cut
    into consecutive segments named after the stage that ends them (endpointing, STT,
    intent/LLM, browser action, speech synthesis, rest of the turn). Means, so the segments add
    up to the mean turn (medians of parts do not add up)."""
    return breakdown_from_marks([(r.kind, r.system, r.marks()) for r in records if not r.error])


def breakdown_from_marks(turns: Iterable[tuple[str, str, Mapping[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """:func:`stage_breakdown` from (kind, system, marks) rows (e.g. read back from bench.json)."""
    turns = list(turns)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for kind in KINDS:
        for system in SYSTEMS:
            rows = [m for k, s, m in turns if k == kind and s == system]
            sums: dict[str, float] = {}
            for marks in rows:
                prev = 0.0
                for mark, t in sorted(marks.items(), key=lambda kv: kv[1]):
                    seg = SEGMENTS[mark]
                    sums[seg] = sums.get(seg, 0.0) + max(0.0, t - prev)
                    prev = max(prev, t)
            order = [SEGMENTS[m] for m in MARKS]
            out.setdefault(kind, {})[system] = {
                seg: round(sums[seg] / len(rows), 1) for seg in order if seg in sums}
    return out


def dominant(breakdown: Mapping[str, Mapping[str, Mapping[str, float]]], system: str = "sayso") -> dict[str, str]:
    """The stage with the largest median segment, per kind (before the turn's tail)."""
    out = {}
    for kind, systems in breakdown.items():
        segs = {k: v for k, v in systems.get(system, {}).items() if k != "rest"}
        if segs:
            out[kind] = max(segs, key=lambda k: segs[k])
    return out


_WORD = re.compile(r"[a-z0-9']+")
_NUMS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
         "7": "seven", "8": "eight", "9": "nine", "10": "ten"}


def words(text: str) -> list[str]:
    """Lower-case words without punctuation; single digits spelled out (Whisper writes "3")."""
    return [_NUMS.get(w, w) for w in _WORD.findall(text.lower().replace("-", " "))]


def wer(pairs: Iterable[tuple[str, str]]) -> dict[str, float | int | None]:
    """Word error rate over (reference, hypothesis) pairs: edits / reference words."""
    edits = total = n = 0
    for ref, hyp in pairs:
        r, h = words(ref), words(hyp)
        edits += Levenshtein.distance(r, h)
        total += len(r)
        n += 1
    return {"wer": round(edits / total, 4) if total else None, "words": total, "utterances": n}
