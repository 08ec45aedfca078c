"""Intent accuracy: does a decision (tool calls, or a plain answer) match the expected one?

The development set (``commands-dev.tsv``) has one utterance and one expectation a line:
``tool`` or ``tool:arg`` (``click:#4`` is an index, ``answer`` is a plain reply). The fast path,
the LLM and the two combined are scored with :func:`score`; ``scripts/measure_intent.py`` and
the benchmark print the table. Free-text arguments match loosely (case, articles, word order,
"https://www."), so "weather in berlin" matches "the weather in Berlin".
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sayso.config import Settings
from sayso.llm.base import Llm
from sayso.tools import ANSWER, primary
from sayso.types import ToolCall


@dataclass(frozen=True, slots=True)
class Case:
    utterance: str
    tool: str
    arg: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """What a path decided: calls (empty = a plain answer), or ``declined`` (fast path: not sure)."""

    calls: tuple[ToolCall, ...] = ()
    declined: bool = False
    ms: float = 0.0


@dataclass
class Score:
    name: str
    total: int = 0
    claimed: int = 0
    right: int = 0
    times_ms: list[float] = field(default_factory=list)
    wrong: list[tuple[str, str, str]] = field(default_factory=list)  # utterance, expected, got

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    @property
    def precision(self) -> float:
        """Right among the rows this path claimed (for the fast path, which may decline)."""
        return self.right / self.claimed if self.claimed else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else 0.0

    def line(self) -> str:
        return (f"{self.name:<10} accuracy {self.right}/{self.total} = {self.accuracy:.0%}   "
                f"claimed {self.claimed}, right among claimed {self.precision:.0%}   "
                f"median decision {self.median_ms:.1f} ms")


def load_cases(path: Path) -> list[Case]:
    cases = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        utterance, _, expected = raw.partition("\t")
        tool, _, arg = expected.strip().partition(":")
        cases.append(Case(utterance.strip(), tool.strip(), arg.strip()))
    return cases


def _norm_text(s: str) -> str:
    s = s.lower()
    s = re.sub(r"[^\w\s]", " ", s)
    words = [w for w in s.split() if w not in ("the", "a", "an", "please", "what's", "whats", "like")]
    return " ".join(sorted(words))


def _norm_url(s: str) -> str:
    s = s.strip().lower()
    s = re.sub(r"^[a-z]+://", "", s)
    s = re.sub(r"^www\.", "", s)
    return s.rstrip("/")


def call_matches(case: Case, call: ToolCall) -> bool:
    if call.name != case.tool:
        return False
    if not case.arg:
        return True
    if case.arg.startswith("#"):
        return str(call.args.get("index", "")) == case.arg[1:]
    arg, value = primary(call)  # the tool's main argument, as the contract declares it
    kind = arg.kind if arg is not None else ""
    if kind == "url":
        got = _norm_url(str(value))
        want = _norm_url(case.arg)
        host = got.split("/")[0]
        return got == want or host == want or host.endswith("." + want) or got.replace(" ", "") == want
    if kind == "text":
        return _norm_text(str(value)) == _norm_text(case.arg)
    return str(value).lower() == case.arg.lower()


def matches(case: Case, decision: Decision) -> bool:
    if case.tool == ANSWER:
        return not decision.calls and not decision.declined
    return bool(decision.calls) and call_matches(case, decision.calls[0])


def describe(decision: Decision) -> str:
    if decision.declined:
        return "(declined)"
    if not decision.calls:
        return ANSWER
    return " + ".join(f"{c.name}:{','.join(f'{k}={v}' for k, v in c.args.items())}" for c in decision.calls)


def score(name: str, cases: Sequence[Case], decisions: Iterable[Decision]) -> Score:
    sc = Score(name)
    for case, dec in zip(cases, decisions, strict=True):
        sc.total += 1
        sc.times_ms.append(dec.ms)
        if dec.declined:
            continue
        sc.claimed += 1
        if matches(case, dec):
            sc.right += 1
        else:
            expected = f"{case.tool}:{case.arg}" if case.arg else case.tool
            sc.wrong.append((case.utterance, expected, describe(dec)))
    return sc


async def llm_decision(llm: Llm, settings: Settings, text: str) -> Decision:
    """The LLM path alone, through the real turn code (dry run, no browser, empty history).

    ``ms`` is the time to the decision (``intent-end``): the whole tool call, or the moment the
    model committed to a plain answer.
    """
    import time

    from sayso.agent.conversation import Conversation
    from sayso.agent.turn import Turn

    t0 = time.perf_counter()
    marks: dict[str, float] = {}

    def emit(type_: str, **data: object) -> None:
        marks.setdefault(type_, (time.perf_counter() - t0) * 1000)

    turn = Turn(settings=settings, llm=llm, browser=None, conversation=Conversation(), emit=emit,
                say=lambda _d: None, dry_run=True, use_fastpath=False)
    out = await turn.run(text)
    ms = marks.get("intent-end", (time.perf_counter() - t0) * 1000)
    # a likely address the user must confirm ("Did you mean bbc.com?") is still the model's decision
    calls = out.calls[:1] or ([out.pending] if out.pending is not None else [])
    return Decision(calls=tuple(calls), ms=ms)


def fast_decision(text: str) -> Decision:
    import time

    from sayso.agent import fastpath

    t0 = time.perf_counter()
    calls = fastpath.plan(text)
    return Decision(calls=tuple(calls or ()), declined=calls is None, ms=(time.perf_counter() - t0) * 1000)


async def evaluate_all(cases: Sequence[Case], llm: Llm | None, settings: Settings) -> dict[str, Score]:
    """Fast path alone, LLM alone, and combined (fast path first, the LLM for what it declines)."""
    fast = [fast_decision(c.utterance) for c in cases]
    out = {"fast path": score("fast path", cases, fast)}
    if llm is None:
        return out
    slow = [await llm_decision(llm, settings, c.utterance) for c in cases]
    out["LLM"] = score("LLM", cases, slow)
    combined = [f if not f.declined else Decision(calls=s.calls, ms=f.ms + s.ms) for f, s in zip(fast, slow, strict=True)]
    out["combined"] = score("combined", cases, combined)
    return out
