#!/usr/bin/env python3
"""Memory of sayso with one browser: PSS over the whole process tree, per variant.

    .venv/bin/python scripts/measure_memory.py [--reps 2] [--variants base,lean]

Each run is a fresh process (``--child``) that loads the real stages (Whisper, the embedded LLM
with its decision prefix warmed, Piper), starts one headless Chromium through sayso's own
driver, and runs a few turns against the local test site (navigate, an LLM answer spoken by
Piper, scroll, a click, a transcription). A sampler thread reads every process's PSS (shared pages
divided among their users, so the sum is what the tree really costs) and RSS (what the bench
summed) every 0.5 s; the peak of the sums and the end state are reported, split into sayso's
own process and the browser's processes (driver, browser, renderers, helpers).

Variants (alternated, each ``--reps`` times):
- ``base``: sayso as it was before the memory work: llama.cpp's prompt RAM cache at its default
  (8 GiB cap; same Chromium flags);
- ``current``: sayso as it is now (whatever the code's defaults are);
- ``lean``: ``current`` plus any flags given with ``--extra-flags`` (to try new ones).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import psutil  # noqa: E402

# what sayso used before the memory work (scripts/measure_memory.py --variants base,current)
OLD_CHROMIUM_FLAGS = (
    "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-component-update", "--disable-sync", "--mute-audio", "--window-size=1280,900",
    "--autoplay-policy=no-user-gesture-required", "--disable-features=Translate,MediaRouter",
    "--password-store=basic", "--lang=en-US",
)
OLD_LLM = {"cache_ram_mib": 8192, "n_ubatch": 512, "n_batch": 2048}


def _alone(pids: list[int]) -> float:
    """MiB these processes would use on a machine of their own: private pages, plus pages shared
    between them counted once (per mapped file). PSS would divide a page also with processes
    outside the tree that map the same file (another sayso's model, another Chromium)."""
    private = 0
    shared: dict[str, int] = {}
    for pid in pids:
        try:
            maps = psutil.Process(pid).memory_maps(grouped=True)
        except psutil.Error:
            continue
        for m in maps:
            private += m.private_clean + m.private_dirty
            if m.path and not m.path.startswith("["):
                shared[m.path] = max(shared.get(m.path, 0), m.shared_clean + m.shared_dirty)
            else:
                private += m.shared_clean + m.shared_dirty  # anonymous: shared only with forks
    return (private + sum(shared.values())) / 2**20


def _pss(pids: list[int]) -> tuple[float, float, dict[str, float]]:
    """(PSS MiB, RSS MiB, PSS by process kind) summed over ``pids``."""
    pss = rss = 0.0
    kinds: dict[str, float] = {}
    for pid in pids:
        try:
            p = psutil.Process(pid)
            info = p.memory_full_info()
            cmd = p.cmdline()
        except psutil.Error:
            continue
        kind = next((a.split("=", 1)[1] for a in cmd if a.startswith("--type=")), p.name())
        if kind == "utility":
            kind = next((a.split("=", 1)[1].split(".")[-1] for a in cmd if a.startswith("--utility-sub-type=")),
                        "utility")
        pss += info.pss / 2**20
        rss += info.rss / 2**20
        kinds[kind] = kinds.get(kind, 0.0) + info.pss / 2**20
    return pss, rss, kinds


class Sampler:
    def __init__(self, browser_pids: Any) -> None:
        self.browser_pids = browser_pids
        self.peak = {"sayso_pss": 0.0, "browser_pss": 0.0, "total_pss": 0.0, "total_rss": 0.0,
                     "sayso_alone": 0.0, "browser_alone": 0.0, "total_alone": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> dict[str, Any]:
        own_pss, own_rss, _ = _pss([os.getpid()])
        pids = self.browser_pids()
        b_pss, b_rss, kinds = _pss(pids)
        now = {"sayso_pss": own_pss, "browser_pss": b_pss, "total_pss": own_pss + b_pss,
               "total_rss": own_rss + b_rss, "sayso_rss": own_rss, "browser_kinds": kinds,
               "sayso_alone": _alone([os.getpid()]), "browser_alone": _alone(pids),
               "total_alone": _alone([os.getpid(), *pids])}
        for k in self.peak:
            self.peak[k] = max(self.peak[k], now[k])
        return now

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def child(variant: str, extra_flags: list[str]) -> dict[str, Any]:
    from sayso.agent.factory import build_browser, build_components, create_assistant
    from sayso.browser import driver as drv
    from sayso.config import load_settings
    from sayso.testsite import TestSite
    from sayso.types import Utterance

    if variant == "base":
        drv.CHROMIUM_FLAGS = OLD_CHROMIUM_FLAGS
        import xllamacpp

        real = xllamacpp.Server

        def old_server(params: Any) -> Any:
            for key, value in OLD_LLM.items():
                setattr(params, key, value)
            return real(params)

        xllamacpp.Server = old_server  # type: ignore[misc]
    elif variant == "lean":
        drv.CHROMIUM_FLAGS = (*drv.CHROMIUM_FLAGS, *extra_flags)

    with TestSite() as site:
        # a generous LLM timeout: on a loaded box a timed-out answer would skip the LLM's memory
        settings = load_settings(browser_headless=True, browser_allowlist=["127.0.0.1"], home_url="about:blank",
                                 search_engine=site.url("/search?q={query}"), llm_timeout_s=900)
        t0 = time.monotonic()
        comp = await build_components(settings)
        browser = await build_browser(settings)
        session = browser.session  # type: ignore[attr-defined]
        with Sampler(session.owned_pids) as sampler:
            assistant = create_assistant(comp, browser=browser)
            said = [f"go to {site.url('/')}", "who wrote romeo and juliet", "click news", "scroll down",
                    "go back", "search for bicycles", "open the second result", "read me this page"]
            replies = []
            for text in said:
                reply = ""
                async for ev in assistant.text_turn(text):
                    if ev.type == "turn-end":
                        reply = str(ev.data.get("reply", ""))
                replies.append(reply[:60])
            if comp.stt is not None and comp.tts is not None:
                chunks = [c async for c in comp.tts.synthesize("Open the news page.")]
                from sayso.audio.convert import convert

                await comp.stt.transcribe(Utterance(audio=convert(chunks[0], 16000)))
            end = sampler.sample()
        result = {"variant": variant, "peak": sampler.peak, "end": end, "replies": replies,
                  "seconds": round(time.monotonic() - t0, 1)}
        await assistant.close()
        await browser.close()
        await comp.close()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--variants", default="base,current")
    ap.add_argument("--extra-flags", default="", help="Chromium flags for the 'lean' variant, separated by ';' (use --extra-flags=...)")
    args = ap.parse_args()
    extra = [f for f in args.extra_flags.split(";") if f]
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, extra))))
        return 0
    variants = args.variants.split(",")
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    for rep in range(args.reps):
        for v in variants if rep % 2 == 0 else variants[::-1]:
            out = subprocess.run([sys.executable, __file__, "--child", v, f"--extra-flags={args.extra_flags}"],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(out.stderr[-3000:], file=sys.stderr)
                return 1
            res = json.loads(out.stdout.strip().splitlines()[-1])
            runs[v].append(res)
            kinds = ", ".join(f"{k} {mb:.0f}" for k, mb in sorted(res["end"]["browser_kinds"].items(),
                                                                   key=lambda kv: -kv[1]))
            pk = res["peak"]
            print(f"{v:8} at the end: sayso alone {res['end']['sayso_alone']:.0f}; "
                  f"peak alone: sayso {pk['sayso_alone']:.0f} + browser {pk['browser_alone']:.0f}, together "
                  f"{pk['total_alone']:.0f} MiB; PSS {pk['total_pss']:.0f}; RSS sum {pk['total_rss']:.0f}; "
                  f"end: browser by kind: {kinds}; {res['seconds']} s; replies {res['replies']}", file=sys.stderr)
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if len({tuple(r["replies"]) for rows in runs.values() for r in rows}) > 1:
        print("warning: the runs did not all give the same replies (compare like with like)", file=sys.stderr)
    print("Peak MiB, medians. 'alone': private pages plus pages shared within the tree counted once")
    print("(what it costs on a machine of its own); PSS also splits pages with other programs mapping the")
    print("same files; 'RSS summed' counts every shared library once per process (the bench's figure).")
    print()
    print("| variant | sayso alone | browser alone | together alone | together PSS | RSS summed | sayso alone after the turns |")
    print("|---|---|---|---|---|---|---|")
    for v, rows in runs.items():
        m = lambda k, rows=rows: statistics.median(r["peak"][k] for r in rows)  # noqa: E731
        end = statistics.median(r["end"]["sayso_alone"] for r in rows)
        print(f"| {v} | {m('sayso_alone'):.0f} | {m('browser_alone'):.0f} | {m('total_alone'):.0f} "
              f"| {m('total_pss'):.0f} | {m('total_rss'):.0f} | {end:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
