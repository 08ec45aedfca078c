#!/usr/bin/env python3
"""Embedded LLM figures on this machine: load time, time to first token, tokens/s, RSS.

    .venv/bin/python scripts/measure_llm.py [--model PATH.gguf] [--runs 5]

Load = building llama.cpp's server with the GGUF; "prefix" = the agent's fixed decision prompt
read once (uncached); then per run a routing decision (cached prefix, JSON schema) and a free
answer (decode speed). Medians are printed; the load average shows how busy the box was.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import psutil  # noqa: E402

from sayso.agent import prompts  # noqa: E402
from sayso.config import load_settings  # noqa: E402
from sayso.llm.llamacpp import LlamaCppLlm  # noqa: E402
from sayso.tools import decision_schema  # noqa: E402
from sayso.types import ChatMessage  # noqa: E402


async def timed(llm: LlamaCppLlm, messages: list[ChatMessage], **kw: object) -> dict[str, float]:
    t0 = time.perf_counter()
    first = None
    usage: dict = {}
    async for chunk in llm.chat(messages, **kw):  # type: ignore[arg-type]
        if first is None and chunk.text:
            first = time.perf_counter() - t0
        if chunk.done:
            usage = dict(chunk.usage)
    t = usage.get("timings", {})
    return {"ttft_ms": (first or 0) * 1000, "total_ms": (time.perf_counter() - t0) * 1000,
            "prompt_tok_s": t.get("prompt_per_second", 0.0), "decode_tok_s": t.get("predicted_per_second", 0.0),
            "prompt_n": t.get("prompt_n", 0), "cached_n": t.get("cache_n", 0), "predicted_n": t.get("predicted_n", 0)}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    settings = load_settings(llm="embedded", **({"llm_model": args.model} if args.model else {}))
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    llm = LlamaCppLlm(settings=settings)
    t0 = time.perf_counter()
    await asyncio.to_thread(llm._load)
    load_ms = (time.perf_counter() - t0) * 1000
    print(f"model: {llm.model_name}  threads={settings.llm_threads}  load avg {os.getloadavg()[0]:.1f}")
    print(f"load: {load_ms:.0f} ms   RSS +{(proc.memory_info().rss - rss0) / 2**20:.0f} MiB")
    prefix = prompts.decision_prefix()
    first = await timed(llm, [*prefix, ChatMessage("user", "hello")], response_format=decision_schema(), max_tokens=1)
    print(f"decision prefix, uncached: {first['prompt_n']} tokens in {first['total_ms']:.0f} ms "
          f"({first['prompt_tok_s']:.0f} tok/s)")
    said = ["open the weather page", "who invented the telephone", "go down the page", "click the third link",
            "what can you do"]
    dec, ans = [], []
    for i in range(args.runs):
        dec.append(await timed(llm, [*prefix, prompts.user_turn(said[i % len(said)])],
                               response_format=decision_schema(), max_tokens=settings.llm_max_tokens))
        ans.append(await timed(llm, [ChatMessage("user", "Tell me about the history of bicycles.")],
                               max_tokens=64))
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    print(f"routing decision (cached prefix, JSON schema): first token {med(dec, 'ttft_ms'):.0f} ms, "
          f"whole decision {med(dec, 'total_ms'):.0f} ms, cached {med(dec, 'cached_n'):.0f} of "
          f"{med(dec, 'cached_n') + med(dec, 'prompt_n'):.0f} prompt tokens")
    print(f"free answer (64 tokens): first token {med(ans, 'ttft_ms'):.0f} ms, decode {med(ans, 'decode_tok_s'):.1f} "
          f"tok/s, prompt {med(ans, 'prompt_tok_s'):.0f} tok/s")
    print(f"RSS now: {proc.memory_info().rss / 2**20:.0f} MiB (process total)   load avg {os.getloadavg()[0]:.1f}")
    await llm.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
