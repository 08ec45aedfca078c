"""Throughput and turn latency of the web app with N concurrent sessions.

Starts the real app (Gradio, the bundled Whisper/Piper, the LLM unless ``--no-llm``, one real
Chromium per session) against the local test site, opens N ``gradio_client`` sessions (each
starts its browser first, untimed), then each user sends the same interleaved commands at once.
A turn's latency is the client's wall time for one ``/text`` call (the reply and its speech
included). Prints one JSON object: sessions, turns, wall_s, turns_per_s, median_s, p90_s, max_s.

    .venv/bin/python scripts/measure_sessions.py --sessions 8 [--rounds 2] [--no-llm]
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

WORDS = ("apples", "guitars", "volcanoes", "bicycles", "penguins", "tomatoes", "rockets", "lanterns",
         "oranges", "pianos", "glaciers", "kites", "otters", "carrots", "comets", "candles")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _commands(word: str, llm: bool) -> list[str]:
    cmds = [f"search for {word}", "scroll down", "click on news", "go back"]
    return [*cmds, "what is the capital of france"] if llm else cmds


def _user(url: str, word: str, rounds: int, llm: bool, start: threading.Barrier, out: dict[str, Any]) -> None:
    from gradio_client import Client

    try:
        c = Client(url, verbose=False)
        c.predict("scroll down", api_name="/text")  # opens the session and starts its browser
        start.wait(timeout=600)
        times = []
        for _ in range(rounds):
            for command in _commands(word, llm):
                t0 = time.monotonic()
                result, _audio = c.predict(command, api_name="/text")
                times.append(time.monotonic() - t0)
                if result.get("errors"):
                    out.setdefault("errors", []).append(f"{word}: {command}: {result['errors']}")
        out[word] = times
    except Exception as exc:  # reported in the output
        out.setdefault("errors", []).append(f"{word}: {exc!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=1, help="times each user repeats the command list")
    ap.add_argument("--no-llm", action="store_true", help="fast-path commands only, no LLM loaded")
    args = ap.parse_args()
    n = max(1, min(args.sessions, len(WORDS)))

    from sayso.config import load_settings
    from sayso.testsite import TestSite
    from sayso.ui.gradio_app import build_app

    llm = not args.no_llm
    with TestSite() as site, tempfile.TemporaryDirectory(prefix="sayso-measure-") as data:
        extra = {} if llm else {"llm": "ollama", "ollama_host": "http://127.0.0.1:9"}
        settings = load_settings(ui_port=_free_port(), data_dir=data, max_sessions=n,
                                 browser_allowlist=["127.0.0.1"], home_url=site.url("/"),
                                 search_engine=site.url("/search?q={query}"), turn_rate_per_minute=600,
                                 browser_page_load_timeout_s=30, **extra)
        app = build_app(settings)
        app.launch(settings, block=False)
        try:
            t0 = time.monotonic()
            while not app.stages.warmed:
                if time.monotonic() - t0 > 600:
                    raise SystemExit("the models did not load in 10 minutes")
                time.sleep(0.5)
            load_s = time.monotonic() - t0
            out: dict[str, Any] = {}
            t_start = [0.0]

            def mark() -> None:  # the clock starts when every browser is up and the barrier opens
                t_start[0] = time.monotonic()

            start = threading.Barrier(n, action=mark)
            threads = [threading.Thread(target=_user, args=(app.url, w, args.rounds, llm, start, out))
                       for w in WORDS[:n]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.monotonic() - (t_start[0] or t0)
        finally:
            app.close()
    lat = sorted(x for w in WORDS[:n] for x in out.get(w, []))
    if not lat:
        print(json.dumps({"errors": out.get("errors", ["no turn finished"])}))  # noqa: T201
        return 1
    result = {
        "sessions": n, "llm": llm, "turns": len(lat), "wall_s": round(wall, 1),
        "turns_per_s": round(len(lat) / wall, 2), "median_s": round(statistics.median(lat), 2),
        "p90_s": round(lat[math.ceil(0.9 * len(lat)) - 1], 2), "max_s": round(lat[-1], 2),
        "models_load_s": round(load_s, 1), "errors": out.get("errors", []),
    }
    print(json.dumps(result))  # noqa: T201
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
