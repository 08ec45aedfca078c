"""Intent accuracy on a commands TSV, as the pipeline decides: the fast path first, the LLM for
what it declines. The matching rules are the agent's own (``sayso.agent.evaluate``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sayso.config import Settings


async def intent_accuracy(llm: Any, settings: Settings, tsv: Path, *, limit: int | None = None,
                          on_row: Any = None) -> dict[str, Any]:
    """Score the combined decision on each row of ``tsv`` (text in, no browser)."""
    from sayso.agent.evaluate import Decision, fast_decision, llm_decision, load_cases, score

    cases = load_cases(tsv)[:limit] if limit else load_cases(tsv)
    decisions: list[Decision] = []
    for case in cases:
        fast = fast_decision(case.utterance)
        if fast.declined and llm is not None:
            slow = await llm_decision(llm, settings, case.utterance)
            fast = Decision(calls=slow.calls, ms=fast.ms + slow.ms)
        decisions.append(fast)
        if on_row is not None:
            on_row()
    combined = score("combined", cases, decisions)
    claimed = sum(1 for c in cases if fast_decision(c.utterance).declined is False)
    return _json(tsv.name, combined, claimed, cases)


def _json(name: str, sc: Any, fast_claimed: int, cases: Sequence[Any]) -> dict[str, Any]:
    return {
        "file": name,
        "n": sc.total,
        "correct": sc.right,
        "accuracy": round(sc.accuracy, 4) if sc.total else None,
        "fast_path": fast_claimed,
        "median_decision_ms": round(sc.median_ms, 1),
        "wrong": [{"utterance": u, "expected": e, "got": g} for u, e, g in sc.wrong],
    }
