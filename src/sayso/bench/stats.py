"""Turn records and their statistics: marks from the end of speech, p50/p95, accuracy, WER.

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

from sayso.events import TurnEvent, TurnSummary

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
#: scenario kinds, as the issue names them; chosen by what the user meant
#: (:func:`sayso.bench.scenarios.expected_kind`), never by the path the turn took
KINDS = ("fast", "llm", "question")
#: the mark each kind is judged by (the median turn of the timeline is the median of this)
KEY_MARK = {"fast": "action", "llm": "action", "question": "first_audio"}
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
    kind: str = ""  # fast | llm | question: what the user meant (from the scenario)
    error: str = ""  # a failure of the run itself (not a tool failure)
    sweep: bool = False  # an accuracy-sweep turn (our pipeline only, not in the latency table)

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
        end = self.last("turn-end")
        if end is not None and isinstance(end.data, TurnSummary):  # sayso's turns: their summary
            return [{"tool": a.tool, "args": dict(a.args), "ok": a.ok} for a in end.data.actions]
        out, args = [], {}  # the baseline's turns: from its tool events
        for e in self.events:
            if e.type == "tool-start":
                args[e.data.get("tool")] = dict(e.data.get("args") or {})
            elif e.type == "tool-end":
                out.append({"tool": e.data.get("tool"), "args": args.get(e.data.get("tool"), {}),
                            "ok": e.data.get("ok")})
        return out

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """The tool calls the turn made, in order, with their arguments: from the turn's
        TurnSummary (turn-end, or cancelled by barge-in) when it has one, else (the baseline)
        from its tool-start events."""
        end = self.last("turn-end") or self.last("cancelled")
        if end is not None and isinstance(end.data, TurnSummary):
            return [(a.tool, dict(a.args)) for a in end.data.actions]
        return [(str(e.data.get("tool", "")), dict(e.data.get("args") or {}))
                for e in self.events if e.type == "tool-start"]

    @property
    def correct(self) -> bool:
        """Did the turn do what the user meant? The agent's own matching rules
        (:mod:`sayso.agent.evaluate`): the first tool call and its key argument, or no call at
        all for a question. A run failure is a miss."""
        from sayso.agent.evaluate import Case, Decision, matches
        from sayso.types import ToolCall

        if self.error:
            return False
        tool, _, arg = self.expected.strip().partition(":")
        decision = Decision(calls=tuple(ToolCall(name, args) for name, args in self.calls))
        return matches(Case(self.text, tool.strip(), arg.strip()), decision)

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
            "sweep": self.sweep, "correct": self.correct, "group": self.group, "text": self.text, "expected": self.expected,
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
    """median (p50), p95, max and n (None when there are no values). p95 interpolates
    linearly between the two nearest turns (numpy's default), so with few turns it lies
    between the two slowest."""
    if not values:
        return {"median": None, "p95": None, "max": None, "n": 0}
    arr = np.asarray(values, dtype=float)
    return {"median": round(float(np.median(arr)), 1), "p95": round(float(np.percentile(arr, 95)), 1),
            "max": round(float(arr.max()), 1), "n": int(arr.size)}


def classify(records: Iterable[TurnRecord]) -> None:
    """Give each record without one the kind of its scenario: what the user meant (the expected
    call), so a misheard command that took another path still counts in its kind."""
    from sayso.bench.scenarios import expected_kind

    for r in records:
        if not r.kind:
            r.kind = expected_kind(r.text, r.expected)


def table(records: Sequence[TurnRecord]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """kind -> system -> mark -> summary, over the timed (paired) turns."""
    return table_from_marks([(r.kind, r.system, r.marks()) for r in records if not r.error and not r.sweep])


def accuracy(records: Iterable[TurnRecord], system: str = "sayso") -> dict[str, Any]:
    """Spoken-command accuracy of one system: the share of its turns whose tool call (and key
    argument) matches the expected one; overall, by voice, by noise condition, by kind."""
    return accuracy_from_rows([(r.voice, r.condition, r.kind, r.correct, r.text, r.expected,
                                _describe(r.calls), r.transcript)
                               for r in records if r.system == system])


def accuracy_from_rows(rows: Iterable[tuple[str, str, str, bool, str, str, str, str]]) -> dict[str, Any]:
    """:func:`accuracy` from (voice, condition, kind, correct, text, expected, got, heard) rows."""
    rows = list(rows)

    def share(sel: list[bool]) -> dict[str, Any]:
        right = sum(sel)
        return {"accuracy": round(right / len(sel), 4) if sel else None, "right": right, "n": len(sel)}

    def by(i: int) -> dict[str, Any]:
        return {k: share([r[3] for r in rows if r[i] == k]) for k in sorted({r[i] for r in rows})}

    return {"overall": share([r[3] for r in rows]), "by_voice": by(0), "by_condition": by(1),
            "by_kind": by(2),
            "wrong": [{"text": r[4], "expected": r[5], "got": r[6], "heard": r[7], "voice": r[0],
                       "condition": r[1]} for r in rows if not r[3]]}


def _describe(calls: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    if not calls:
        return "answer"
    return " + ".join(f"{n}:{','.join(f'{k}={v}' for k, v in a.items())}" for n, a in calls)


def table_from_marks(turns: Iterable[tuple[str, str, Mapping[str, float]]]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """:func:`table` from (kind, system, marks) rows (e.g. read back from bench.json)."""
    turns = list(turns)
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for kind in KINDS:
        for system in SYSTEMS:
            rows = [m for k, s, m in turns if k == kind and s == system]
            out.setdefault(kind, {})[system] = {m: summarize([x[m] for x in rows if m in x]) for m in MARKS}
    return out


def ratios(tab: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Ours / baseline, per kind, of first audio, action done and turn total: p50 and p95."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for kind, systems in tab.items():
        out[kind] = {}
        for mark in ("first_audio", "action", "total"):
            pair = {}
            for stat, key in (("p50", "median"), ("p95", "p95")):
                ours = systems["sayso"][mark][key]
                base = systems["baseline"][mark][key]
                pair[stat] = round(ours / base, 2) if ours is not None and base else None
            out[kind][mark] = pair
    return out


SEGMENTS = {"endpoint": "endpointing", "transcript": "stt", "intent": "intent/llm",
            "action": "browser", "first_audio": "tts", "total": "rest"}


def stage_breakdown(records: Sequence[TurnRecord]) -> dict[str, dict[str, dict[str, float]]]:
    """kind -> system -> stage -> mean ms: each turn's marks, in the order they happened, cut
    into consecutive segments named after the stage that ends them (endpointing, STT,
    intent/LLM, browser action, speech synthesis, rest of the turn). Means, so the segments add
    up to the mean turn (medians of parts do not add up)."""
    return breakdown_from_marks([(r.kind, r.system, r.marks()) for r in records if not r.error and not r.sweep])


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


#: the stages of the per-turn timeline (bench.png), each an interval from the end of speech
TIMELINE = ("vad-end", "stt", "intent", "llm first token", "action", "first audio")


def timeline(events: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, float]]:
    """One turn's stages as (stage, start ms, end ms) from the end of speech, from its events
    as bench.json keeps them (``type`` and ``t_ms`` relative to the end of speech).

    vad-end: speech end -> the endpointer's decision; stt: the decision (or the speculative
    transcript, when it came earlier) -> ``stt-end``; intent: ``stt-end`` -> ``intent-end``;
    llm first token: ``stt-end`` -> ``llm-first-token``; action: ``tool-start`` -> the last
    ``tool-end``; first audio: the event before it that starts speech (the last of intent-end,
    tool-end, llm-first-token) -> ``tts-first-audio``.
    """
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for e in events:
        t = e.get("t_ms")
        if t is None:
            continue
        first.setdefault(str(e["type"]), float(t))
        last[str(e["type"])] = float(t)
    out: list[tuple[str, float, float]] = []
    vad = first.get("vad-end")
    if vad is not None:
        out.append(("vad-end", 0.0, vad))
    stt = first.get("stt-end")
    if stt is not None:
        out.append(("stt", min(vad if vad is not None else stt, stt), stt))
    if stt is not None and "intent-end" in first:
        out.append(("intent", stt, max(stt, first["intent-end"])))
    if stt is not None and "llm-first-token" in first:
        out.append(("llm first token", stt, max(stt, first["llm-first-token"])))
    if "tool-start" in first and "tool-end" in last:
        out.append(("action", first["tool-start"], last["tool-end"]))
    audio = first.get("tts-first-audio")
    if audio is not None:
        before = [t for k in ("intent-end", "llm-first-token") if (t := first.get(k)) is not None and t <= audio]
        before += [t for t in [last.get("tool-end")] if t is not None and t <= audio]
        out.append(("first audio", max(before, default=stt or 0.0), audio))
    return out


def median_turn(turns: Sequence[Mapping[str, Any]], kind: str, system: str = "sayso") -> Mapping[str, Any] | None:
    """The timed turn of ``kind`` whose key mark (action done for commands, first audio for
    questions; the turn's end when it has none) is the median of its kind (the lower one of an
    even count). ``turns`` as bench.json keeps them."""
    key = KEY_MARK[kind]

    def val(t: Mapping[str, Any]) -> float | None:
        marks = t.get("marks_ms") or {}
        v = marks.get(key, marks.get("total"))
        return None if v is None else float(v)

    rows = sorted((t for t in turns if t.get("kind") == kind and t.get("system") == system
                   and not t.get("sweep") and not t.get("run_error") and val(t) is not None),
                  key=lambda t: val(t) or 0.0)
    return rows[(len(rows) - 1) // 2] if rows else None


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
