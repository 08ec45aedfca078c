#!/usr/bin/env python3
"""End of speech -> first audio played in the page, for spoken turns through the web app:
the Record button's Gradio stream (old path) against live voice (WebSocket + AudioWorklets),
in the same run; then barge-in through the page.

Starts the real app (real models) on a free port with the local test site and opens it in a
headless Chromium whose fake microphone plays N spoken commands (made with the app's own TTS,
each followed by a pause longer than a turn; a lead silence because Chromium drops the first
seconds). The page is told to measure (``window.saysoMeasure``), so ``js/live.js`` logs, in
``performance.now()`` milliseconds:

- ``speech-end``: the last loud 20 ms frame of each command, from the captured microphone
  itself (live voice's capture worklet; for the Record path a tap on the stream Gradio opened);
- ``play-start``: the player worklet's first sample of a turn (live voice), or
  ``reply-playing``: the ``playing`` event of Gradio's reply player (Record path).

For each turn: ``page`` = first audio played - speech end, both measured in the page. The
server's own ``vad-end -> tts-first-audio`` is printed beside it. Then barge-in: "Read the
page." and, while the reply plays, "Stop.": ``barge`` = the output went silent (the player's
``held``: three loud frames in the page; or ``flushed``: the server's ``vad-start``) - the
overlapping speech started; ``cancel`` = the server's ``vad-start`` flushed the reply.

Usage: ``.venv/bin/python scripts/measure_ui_latency.py [--turns 10] [--gap 14] [--json OUT]
[--paths record,live] [--barge 3]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from sayso.audio.convert import convert, to_int16  # noqa: E402
from sayso.config import load_settings  # noqa: E402
from sayso.events import TurnEvent, durations  # noqa: E402
from sayso.testsite import TestSite  # noqa: E402
from sayso.ui.gradio_app import WebApp, build_app  # noqa: E402

COMMANDS = ["Scroll down.", "Scroll up.", "Click on news.", "Go back.", "Click on pricing.",
            "Go back.", "Click on about us.", "Go back.", "Scroll down.", "Scroll to the top."]
RATE = 48000
LEAD_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.25)
    return value


def mic_file(tts: Any, script: list[tuple[str, float]], path: Path) -> Path:
    parts = [np.zeros(int(LEAD_S * RATE), np.float32)]  # recording starts late: lead silence
    for text, gap in script:
        audio = np.concatenate([convert(c, RATE).samples for c in tts.synthesize_sync(text)])
        parts += [audio * (0.2 / max(float(np.abs(audio).max()), 1e-6)),
                  np.zeros(int(gap * RATE), np.float32)]
    parts.append(np.zeros(int(90 * RATE), np.float32))  # the file loops: no second round
    sf.write(path, to_int16(np.concatenate(parts)), RATE, subtype="PCM_16")
    return path


def chromium(wav: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1200", "--autoplay-policy=no-user-gesture-required",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": "window.saysoMeasure = true;"})
    return driver


def page_log(driver: Any) -> list[dict[str, Any]]:
    return driver.execute_script("return (window.saysoLive && window.saysoLive.log) || [];")


class Turns:
    """The server's TurnEvents of one session, by turn, in the order turns ended."""

    def __init__(self) -> None:
        self.events: dict[str, list[TurnEvent]] = {}
        self.ended: list[str] = []

    def __call__(self, ev: TurnEvent) -> None:
        self.events.setdefault(ev.turn_id, []).append(ev)
        if ev.type in ("turn-end", "cancelled") and ev.turn_id not in self.ended:
            self.ended.append(ev.turn_id)


def open_page(app: WebApp, driver: Any) -> Any:
    from selenium.webdriver.common.keys import Keys

    before = set(app.manager.sessions)
    driver.get(app.url)
    wait(lambda: driver.execute_script(
        "const t = document.querySelector('#sayso-live-token textarea');"
        "return !!(window.saysoLive && t && t.value);"), 90, "the page")
    sid = wait(lambda: next(iter(set(app.manager.sessions) - before), None), 60, "the session")
    session = app.manager.sessions[sid]
    box = driver.find_element("css selector", "#sayso-input textarea")
    box.send_keys("scroll down", Keys.ENTER)  # launches the session's browser first
    wait(lambda: session.last.actions, 120, "the warm-up turn")
    return session


def speech_ends(log: list[dict[str, Any]], source: str, min_ms: float = 250.0) -> list[float]:
    """Ends of the stretches of speech the page heard (clicks shorter than ``min_ms`` dropped)."""
    ends, start = [], None
    for e in log:
        if e.get("source") != source:
            continue
        if e["kind"] == "speech-start":
            start = e["perfAudio"]
        elif e["kind"] == "speech-end" and start is not None:
            if e["perfAudio"] - start >= min_ms:
                ends.append(e["perfAudio"])
            start = None
    return ends


def run_path(app: WebApp, wav: Path, path: str, turns: int, gap: float) -> list[dict[str, Any]]:
    """``turns`` spoken commands through ``path`` ("record" or "live"): one row per turn."""
    driver = chromium(wav)
    try:
        session = open_page(app, driver)
        seen = Turns()
        session.fanout.subscribe(seen)
        if path == "live":
            driver.find_element("css selector", "#sayso-live-toggle").click()
            wait(lambda: any(e["kind"] == "ready" for e in page_log(driver)), 60, "live voice")
        else:
            record = next(b for b in driver.find_elements("css selector", "#sayso-mic button")
                          if "record" in (b.text or "").lower())
            record.click()
        wait(lambda: len(seen.ended) >= turns, turns * (gap + 40) + 90, "the turns")
        time.sleep(3.0)  # the last reply reaches the page's player
        log = page_log(driver)
        ends = speech_ends(log, "live" if path == "live" else "record")
        if path == "live":
            plays = [e["perfAudio"] for e in log if e["kind"] == "play-start"]
        else:  # Gradio's player: it sounds from "playing" (or "play" when that is all it says)
            plays = sorted(e["perf"] for e in log if e["kind"] in ("reply-playing", "reply-play"))
            plays = [p for i, p in enumerate(plays) if i == 0 or p - plays[i - 1] > 1000]
        (wav.parent / f"page-{path}.json").write_text(json.dumps(log))
        rows = []
        for i, tid in enumerate(seen.ended[:turns]):
            evs = seen.events[tid]
            d = durations(evs)
            text = next((str(e.data.get("text", "")) for e in evs if e.type == "stt-end"), "")
            end = ends[i] if i < len(ends) else None
            nxt = ends[i + 1] if i + 1 < len(ends) else float("inf")
            play = next((p for p in plays if end is not None and end < p < nxt), None)
            rows.append({"path": path, "transcript": text, "server_first_audio": d.get("first_audio"),
                         "server_stt": d.get("stt"), "server_action": d.get("action"),
                         "page_ms": round(play - end, 1) if play is not None and end is not None
                         else None})
        return rows
    finally:
        driver.quit()


def run_barge(app: WebApp, wav: Path, rounds: int) -> list[dict[str, Any]]:
    """Speech over a reply: from the overlapping speech's start to the player going silent."""
    driver = chromium(wav)
    try:
        open_page(app, driver)
        driver.find_element("css selector", "#sayso-live-toggle").click()
        wait(lambda: any(e["kind"] == "ready" for e in page_log(driver)), 60, "live voice")
        # each round's "Stop." flushes the page's player (the server cancels the turn when it
        # is still running; a turn that already sent all its speech has nothing to cancel)
        wait(lambda: sum(1 for e in page_log(driver) if e["kind"] == "flush"
                         and e.get("reason") == "barge-in") >= rounds * 2 - 1,
             rounds * 90 + 60, "the barge-ins")
        time.sleep(2.0)
        log = page_log(driver)
        rows = []
        for cut in (e for e in log if e["kind"] == "flush" and e.get("reason") == "barge-in"):
            onset = [e for e in log if e["kind"] == "speech-start" and e["source"] == "live"
                     and e["perf"] <= cut["perf"]]
            if not onset:
                continue
            start = onset[-1]
            before = [e for e in log if e["kind"] in ("play-start", "idle", "flushed", "held")
                      and e["perfAudio"] <= start["perfAudio"]]
            if not before or before[-1]["kind"] != "play-start":
                continue  # nothing was playing when the speech started
            silent = next((e for e in log if e["kind"] in ("held", "flushed")
                           and e["perf"] >= start["perf"]), None)
            if silent is not None:
                rows.append({"barge_ms": round(silent["perfAudio"] - start["perfAudio"], 1),
                             "by": silent["kind"],
                             "cancel_ms": round(cut["perf"] - start["perfAudio"], 1)})
        return rows
    finally:
        driver.quit()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no turns measured"
    return (f"{name}: median {statistics.median(values):.0f} ms, p95 {pct(values, 0.95):.0f} ms "
            f"(min {min(values):.0f}, max {max(values):.0f}, n={len(values)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--gap", type=float, default=14.0, help="seconds of silence after each command")
    ap.add_argument("--paths", default="record,live", help="which paths, in order")
    ap.add_argument("--barge", type=int, default=3, help="barge-in rounds (0: none)")
    ap.add_argument("--json", type=Path, default=None, help="write the per-turn figures here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    commands = (COMMANDS * (args.turns // len(COMMANDS) + 1))[: args.turns]

    tmp = Path(tempfile.mkdtemp(prefix="sayso-ui-latency-"))
    site = TestSite().start()
    settings = load_settings(ui_port=free_port(), data_dir=tmp / "data", home_url=site.url("/"),
                             browser_allowlist=["127.0.0.1"], llm_timeout_s=180, max_sessions=4)
    app = build_app(settings)
    app.launch(settings, block=False)
    results: dict[str, Any] = {"commands": commands, "load_start": os.getloadavg()}
    try:
        t0 = time.monotonic()
        wait(lambda: app.stages.warmed and app.stages.llm_warm, 600, "the models")
        print(f"models ready in {time.monotonic() - t0:.1f} s; load {os.getloadavg()[0]:.1f}")
        tts = app.stages.shared("tts")
        wav = mic_file(tts, [(c, args.gap) for c in commands], tmp / "mic.wav")
        rows: list[dict[str, Any]] = []
        for path in filter(None, args.paths.split(",")):
            got = run_path(app, wav, path, args.turns, args.gap)
            rows += got
            print(f"{path}: {len(got)} turns; load {os.getloadavg()[0]:.1f}", flush=True)
        print(f"\n{'path':<7}{'#':>3}  {'transcript':<22} {'server vad-end->tts':>20} "
              f"{'page speech end->played':>24}")
        fmt = lambda v: f"{v:.0f}" if v is not None else "-"  # noqa: E731
        for i, r in enumerate(rows):
            print(f"{r['path']:<7}{i % args.turns + 1:>3}  {r['transcript'][:22]:<22} "
                  f"{fmt(r['server_first_audio']):>20} {fmt(r['page_ms']):>24}")
        print()
        for path in filter(None, args.paths.split(",")):
            print(summary(f"{path:<6} end of speech -> first audio played in the page",
                          [r["page_ms"] for r in rows if r["path"] == path and r["page_ms"] is not None]))
            print(summary(f"{path:<6} server vad-end -> tts-first-audio",
                          [r["server_first_audio"] for r in rows
                           if r["path"] == path and r["server_first_audio"] is not None]))
        results["turns"] = rows
        if args.barge:
            script = [("Read the page.", 7.0), ("Stop.", 12.0)] * args.barge
            bwav = mic_file(tts, script, tmp / "barge.wav")
            barges = run_barge(app, bwav, args.barge)
            results["barge"] = barges
            print(summary("barge-in: overlapping speech starts -> the page's output is silent",
                          [b["barge_ms"] for b in barges]))
            print(summary("barge-in: overlapping speech starts -> the server's vad-start flushes "
                          "the reply", [b["cancel_ms"] for b in barges]))
        results["load_end"] = os.getloadavg()
        print(f"load average: {results['load_start'][0]:.1f} at the start, "
              f"{results['load_end'][0]:.1f} at the end")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 0
    finally:
        app.close()
        site.stop()


if __name__ == "__main__":
    sys.exit(main())
