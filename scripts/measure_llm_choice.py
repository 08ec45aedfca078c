#!/usr/bin/env python3
"""Which embedded LLM to pick: Qwen2.5-Coder-0.5B (default) against the opt-in 1.5B.

    .venv/bin/pip install -e '.[qwen15b]'        # once, 1.1 GB
    .venv/bin/python scripts/measure_llm_choice.py [--reps 1] [--out docs/llm-models.md]

Both models are loaded in one process and asked the same spoken-style factual questions,
alternating (0.5B first on even questions, 1.5B first on odd ones) so load on the box hits both
alike. Each question is one real assistant turn (the agent's decision prompt with its JSON schema,
a dry-run browser, Piper speaking the answer): correct when the reply contains an expected
keyword. Times are from the turn's own events, in ms after the turn started: first LLM token,
the first words of the reply (what Piper can start on), first audio, and the end of the turn.
Medians are printed with the load average; ``--out`` writes the table as Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from sayso.agent.factory import warm_decision_prefix  # noqa: E402
from sayso.agent.session import Assistant  # noqa: E402
from sayso.config import Settings, load_settings  # noqa: E402
from sayso.llm.llamacpp import LlamaCppLlm  # noqa: E402

# (question as spoken, expected keywords: any one counts)
QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("who invented the telephone", ("bell",)),
    ("what is the capital of australia", ("canberra",)),
    ("how many legs does a spider have", ("eight", "8")),
    ("which planet is known as the red planet", ("mars",)),
    ("who wrote romeo and juliet", ("shakespeare",)),
    ("at what temperature does water boil in celsius", ("100", "hundred")),
    ("what is the largest ocean on earth", ("pacific",)),
    ("who painted the mona lisa", ("leonardo", "da vinci")),
    ("what gas do plants take in from the air", ("carbon dioxide", "co2")),
    ("what is the chemical symbol for gold", ("au",)),
    ("in what year did the second world war end", ("1945",)),
    ("who was the first person to walk on the moon", ("armstrong",)),
    ("what is the tallest mountain in the world", ("everest",)),
    ("in which country are the pyramids of giza", ("egypt",)),
    ("who developed the theory of relativity", ("einstein",)),
    ("what is the currency of japan", ("yen",)),
]
MODELS = ("qwen-0.5b", "qwen-1.5b")


@dataclass
class Row:
    model: str
    question: str
    correct: bool
    reply: str
    ms: dict[str, float] = field(default_factory=dict)


def is_correct(reply: str, keys: tuple[str, ...]) -> bool:
    text = reply.lower()
    return any(re.search(rf"(?<![a-z0-9]){re.escape(k)}(?![a-z0-9])", text) for k in keys)


async def one_turn(assistant: Assistant, question: str) -> tuple[str, dict[str, float]]:
    marks: dict[str, float] = {}
    start: float | None = None
    reply = ""
    async for ev in assistant.text_turn(question):
        now = time.monotonic()
        start = start if start is not None else now
        if ev.type in ("llm-first-token", "reply-text", "tts-first-audio", "turn-end"):
            marks.setdefault(ev.type, (now - start) * 1000)
        if ev.type == "reply-text":
            reply += str(ev.data.get("delta", ""))
        if ev.type == "turn-end":
            reply = str(ev.data.get("reply", reply))
    assistant.clear_history()  # every question stands alone
    return reply.strip(), marks


async def build(settings: Settings, model: str, tts: object) -> tuple[Assistant, LlamaCppLlm, float]:
    llm = LlamaCppLlm(settings=settings.model_copy(update={"llm_model": model}))
    t0 = time.monotonic()
    await llm.warmup()
    await warm_decision_prefix(llm)
    load_ms = (time.monotonic() - t0) * 1000
    assistant = Assistant(settings=settings, llm=llm, stt=None, tts=tts, browser=None, dry_run=True)  # type: ignore[arg-type]
    return assistant, llm, load_ms


def med(rows: list[Row], key: str) -> float:
    vals = [r.ms[key] for r in rows if key in r.ms]
    return statistics.median(vals) if vals else float("nan")


def table(rows: list[Row], loads: dict[str, float], load_avg: tuple[float, float]) -> str:
    out = [
        "| model | correct | first token | reply starts | first audio | turn done | load + warm |",
        "|---|---|---|---|---|---|---|",
    ]
    for model in MODELS:
        mine = [r for r in rows if r.model == model]
        ok = sum(r.correct for r in mine)
        out.append(
            f"| {model} | {ok}/{len(mine)} | {med(mine, 'llm-first-token'):.0f} ms | {med(mine, 'reply-text'):.0f} ms "
            f"| {med(mine, 'tts-first-audio'):.0f} ms | {med(mine, 'turn-end'):.0f} ms | {loads[model]:.0f} ms |")
    small, big = ([r for r in rows if r.model == m] for m in MODELS)
    ratio = med(big, "tts-first-audio") / med(small, "tts-first-audio")
    out.append("")
    out.append(f"Medians over {len(small)} turns each; load average {load_avg[0]:.1f} at the start, "
               f"{load_avg[1]:.1f} at the end; first audio 1.5B / 0.5B = {ratio:.2f}x.")
    return "\n".join(out)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1, help="times each question is asked of each model")
    ap.add_argument("--out", type=Path, help="write the table and the per-question answers as Markdown")
    args = ap.parse_args()
    settings = load_settings(llm="embedded")
    from sayso.tts.factory import build_tts

    tts = await asyncio.to_thread(build_tts, settings)
    await tts.warmup()
    built = {m: await build(settings, m, tts) for m in MODELS}
    loads = {m: b[2] for m, b in built.items()}
    load0 = os.getloadavg()[0]
    print(f"load average {load0:.1f}; {len(QUESTIONS)} questions x {args.reps} x {len(MODELS)} models",
          file=sys.stderr)
    rows: list[Row] = []
    for rep in range(args.reps):
        for i, (question, keys) in enumerate(QUESTIONS):
            order = MODELS if (i + rep) % 2 == 0 else MODELS[::-1]
            for model in order:
                reply, marks = await one_turn(built[model][0], question)
                row = Row(model, question, is_correct(reply, keys), reply, marks)
                rows.append(row)
                print(f"{model:10} {'ok ' if row.correct else 'NO '} {marks.get('turn-end', 0):6.0f} ms  "
                      f"{question}: {reply[:90]!r}", file=sys.stderr)
    result = table(rows, loads, (load0, os.getloadavg()[0]))
    print(result)
    if args.out:
        lines = ["| question | " + " | ".join(MODELS) + " |", "|---|" + "---|" * len(MODELS)]
        for question, _ in QUESTIONS:
            cells = []
            for model in MODELS:
                r = next(r for r in rows if r.model == model and r.question == question)
                cells.append(("ok: " if r.correct else "wrong: ") + r.reply.replace("|", "/")[:80])
            lines.append(f"| {question} | " + " | ".join(cells) + " |")
        args.out.write_text(result + "\n\nFirst answers:\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    for assistant, llm, _ in built.values():
        await assistant.close()
        await llm.close()
    await tts.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
