#!/usr/bin/env python3
"""Median latency of each browser action, through SeleniumBrowser.execute (the path users hit).

    .venv/bin/python scripts/measure_browser.py [--rounds 15] [--browser chromium|firefox]
                                                 [--relaunches 3] [--json]

Serves the local test site on 127.0.0.1, runs every action ``--rounds`` times and prints a
Markdown table of median / p90 / min milliseconds. Each figure includes the worker-thread hop
and the state refresh after the action, as the agent sees it. The machine may be shared:
compare medians, and only within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from sayso.browser.session import SeleniumBrowser
from sayso.config import load_settings
from sayso.testsite import TestSite
from sayso.types import ToolCall


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _timed(fn: Callable[[], Awaitable[object]]) -> float:
    t0 = time.perf_counter()
    result = await fn()
    ms = (time.perf_counter() - t0) * 1000
    ok = getattr(result, "ok", True)
    if not ok:
        raise RuntimeError(f"action failed: {getattr(result, 'message', result)}")
    return ms


async def measure(rounds: int, browser_name: str, relaunches: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}

    def add(name: str, ms: float) -> None:
        times.setdefault(name, []).append(ms)

    with TestSite() as site:
        settings = load_settings(
            browser=browser_name, browser_headless=True, browser_remote_url="",
            browser_allowlist=["127.0.0.1"], search_engine=site.url("/search?q={query}"),
        )
        b = SeleniumBrowser(settings=settings)

        async def do(tool: str, **args: object):  # noqa: ANN202
            return await b.execute(ToolCall(name=tool, args=args))

        try:
            add("launch + first page (cold)", await _timed(lambda: do("navigate", url=site.url("/"))))
            for _ in range(rounds):
                add("navigate", await _timed(lambda: do("navigate", url=site.url("/"))))
                add("click link + load", await _timed(lambda: do("click", text="news")))
                add("back", await _timed(lambda: do("back")))
                add("click: ambiguity question", await _timed_ambiguous(b))
                add("type + submit (search box)", await _timed(lambda: do("type", text="pasta recipes")))
                add("click result #3 + load", await _timed(lambda: do("click", index=3)))
                add("search (engine URL)", await _timed(lambda: do("search", query="vegan lasagna")))
                await do("navigate", url=site.url("/long.html"))
                add("scroll down", await _timed(lambda: do("scroll", direction="down")))
                add("scroll to bottom", await _timed(lambda: do("scroll", direction="bottom")))
                add("read_page (main text)", await _timed(lambda: do("read_page")))
                add("read_headings", await _timed(lambda: do("read_headings")))
                add("zoom in", await _timed(lambda: do("zoom", direction="in")))
                add("screenshot (viewport JPEG)", await _timed(b.screenshot))
                add("new_tab with URL", await _timed(lambda: do("new_tab", url=site.url("/about.html"))))
                add("switch_tab", await _timed(lambda: do("switch_tab", index="previous")))
                await do("switch_tab", index=2)
                add("close_tab", await _timed(lambda: do("close_tab")))
                await do("navigate", url=site.url("/video.html"))
                add("media play", await _timed(lambda: do("media", action="play")))
                add("media pause", await _timed(lambda: do("media", action="pause")))
                await do("navigate", url=site.url("/cookie.html"))
                add("click through a cookie banner", await _timed(lambda: do("click", text="pricing")))
                add("state() (cached)", await _timed(b.state))
            for _ in range(relaunches):
                await do("navigate", url=site.url("/"))
                pid = b.session.owned.browser_pid if b.session.owned else None
                if pid is None:
                    break
                os.kill(pid, signal.SIGKILL)
                add("recover from a killed browser (relaunch + restore + action)",
                    await _timed(lambda: do("read_headings")))
        finally:
            await b.close()
    return times


async def _timed_ambiguous(b: SeleniumBrowser) -> float:
    t0 = time.perf_counter()
    res = await b.execute(ToolCall("click", {"text": "download"}))
    if res.error_code != "click.ambiguous":
        raise RuntimeError(res.message)
    return (time.perf_counter() - t0) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--browser", choices=("chromium", "firefox"), default="chromium")
    parser.add_argument("--relaunches", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    opts = parser.parse_args()
    times = asyncio.run(measure(opts.rounds, opts.browser, opts.relaunches))
    if opts.json:
        print(json.dumps({k: {"median_ms": statistics.median(v), "p90_ms": _pct(v, 0.9), "n": len(v)}
                          for k, v in times.items()}, indent=2))
        return 0
    load = os.getloadavg()[0]
    print(f"browser: {opts.browser}, rounds: {opts.rounds}, cores: {os.cpu_count()}, load average: {load:.1f}\n")
    print("| action | median ms | p90 ms | min ms | n |\n|---|---:|---:|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.0f} | {_pct(values, 0.9):.0f} | {min(values):.0f} | {len(values)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
