#!/usr/bin/env python3
"""Intent accuracy on a commands TSV: fast path alone, LLM alone, combined; median decision time.

    .venv/bin/python scripts/measure_intent.py [--tsv ../shared/data/commands-dev.tsv] [--no-llm]
                                               [--model PATH.gguf] [--json OUT.json]

Uses the configured LLM (SAYSO_LLM, default: Ollama if it answers, else the embedded
Qwen2.5-Coder-0.5B). The scoring lives in sayso.agent.evaluate (the benchmark reuses it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from sayso.agent.evaluate import evaluate_all, load_cases  # noqa: E402
from sayso.config import load_settings  # noqa: E402

DEFAULT_TSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "commands-dev.tsv"


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tsv", type=Path, default=DEFAULT_TSV)
    ap.add_argument("--no-llm", action="store_true", help="fast path only")
    ap.add_argument("--model", default="", help="GGUF for the embedded LLM (default: bundled)")
    ap.add_argument("--json", type=Path, help="write the scores as JSON here")
    args = ap.parse_args()
    overrides = {"llm_model": args.model} if args.model else {}
    settings = load_settings(**overrides)
    cases = load_cases(args.tsv)
    llm = None
    if not args.no_llm:
        from sayso.agent.factory import build_llm

        t0 = time.monotonic()
        llm = await build_llm(settings, warm=True)
        print(f"LLM: {llm.name} {getattr(llm, 'model_name', '')}, ready in {time.monotonic() - t0:.1f} s")
    try:
        scores = await evaluate_all(cases, llm, settings)
    finally:
        if llm is not None:
            await llm.close()
    print(f"{len(cases)} utterances from {args.tsv}")
    for sc in scores.values():
        print(sc.line())
    for sc in scores.values():
        for utt, want, got in sc.wrong:
            print(f"  [{sc.name}] wrong: {utt!r}: expected {want}, got {got}")
    if args.json:
        args.json.write_text(json.dumps({k: {"accuracy": v.accuracy, "right": v.right, "total": v.total,
                                             "claimed": v.claimed, "median_ms": v.median_ms,
                                             "wrong": v.wrong} for k, v in scores.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
