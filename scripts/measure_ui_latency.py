#!/usr/bin/env python3
"""End-of-speech -> first-audio latency of spoken turns through the web app, hands-free.

Starts the real app (real models) on a free port with the local test site, opens it in a
headless Chromium whose fake microphone plays N spoken commands (made with the app's own TTS,
each followed by a pause longer than a turn), presses Record once, and reads every turn's
TurnEvents from the session. For each turn it reports:

- ``first_audio``: from ``vad-end`` (the segmenter declared the end of speech) to
  ``tts-first-audio`` (the first sentence synthesised and handed to the page), the figure the
  metrics and the benchmark use;
- ``endpoint``: the silence the segmenter waited before declaring the end (vad_silence_ms plus
  the chunking of the stream), so ``endpoint + first_audio`` is the time from the last spoken
  word to the first audio;
- the transcript and the stage times (stt, action).

Usage: ``.venv/bin/python scripts/measure_ui_latency.py [--turns 10] [--gap 14] [--json OUT]``
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
from sayso.ui.gradio_app import build_app  # noqa: E402

COMMANDS = ["Scroll down.", "Scroll up.", "Click on news.", "Go back.", "Click on pricing.",
            "Go back.", "Click on about us.", "Go back.", "Scroll down.", "Scroll to the top."]
RATE = 48000


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


def mic_file(tts: Any, commands: list[str], gap_s: float, path: Path) -> Path:
    parts = [np.zeros(int(5.0 * RATE), np.float32)]  # recording starts late: lead silence
    for text in commands:
        audio = np.concatenate([convert(c, RATE).samples for c in tts.synthesize_sync(text)])
        parts += [audio * (0.2 / max(float(np.abs(audio).max()), 1e-6)),
                  np.zeros(int(gap_s * RATE), np.float32)]
    parts.append(np.zeros(int(60 * RATE), np.float32))  # the file loops: no second round
    sf.write(path, to_int16(np.concatenate(parts)), RATE, subtype="PCM_16")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--gap", type=float, default=14.0, help="seconds of silence after each command")
    ap.add_argument("--json", type=Path, default=None, help="write the per-turn figures here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    commands = (COMMANDS * (args.turns // len(COMMANDS) + 1))[: args.turns]

    tmp = Path(tempfile.mkdtemp(prefix="sayso-ui-latency-"))
    site = TestSite().start()
    settings = load_settings(ui_port=free_port(), data_dir=tmp / "data", home_url=site.url("/"),
                             browser_allowlist=["127.0.0.1"], llm_timeout_s=180)
    app = build_app(settings)
    app.launch(settings, block=False)
    driver = None
    try:
        t0 = time.monotonic()
        wait(lambda: app.stages.warmed, 600, "the models")
        print(f"models ready in {time.monotonic() - t0:.1f} s; notes: {app.stages.notes or 'none'}")
        wav = mic_file(app.stages.shared("tts"), commands, args.gap, tmp / "mic.wav")

        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.keys import Keys

        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,1200", "--autoplay-policy=no-user-gesture-required",
                    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={wav}"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        driver.get(app.url)
        box = wait(lambda: driver.find_elements("css selector", "#sayso-input textarea"), 60, "page")
        session = wait(lambda: next(iter(app.manager.sessions.values()), None), 60, "session")
        events: dict[str, list[TurnEvent]] = {}
        ended: list[str] = []

        def collect(ev: TurnEvent) -> None:
            events.setdefault(ev.turn_id, []).append(ev)
            if ev.type in ("turn-end", "cancelled") and ev.turn_id not in ended:
                ended.append(ev.turn_id)

        box[0].send_keys("scroll down", Keys.ENTER)  # launches the session's browser first
        wait(lambda: session.last.actions, 120, "the warm-up turn")
        session.fanout.subscribe(collect)
        record = next(b for b in driver.find_elements("css selector", "#sayso-mic button")
                      if "record" in (b.text or "").lower())
        record.click()
        wait(lambda: len(ended) >= args.turns, args.turns * (args.gap + 30) + 60, "the turns")
        rows = []
        for tid in ended[: args.turns]:
            evs = events[tid]
            d = durations(evs)
            vad_end = next((e for e in evs if e.type == "vad-end"), None)
            endpoint = None
            if vad_end is not None and "speech_end_ms" in vad_end.data:
                endpoint = round(float(vad_end.data["stream_ms"]) - float(vad_end.data["speech_end_ms"]), 1)
            stt = next((e.data.get("text", "") for e in evs if e.type == "stt-end"), "")
            rows.append({"transcript": stt, "endpoint_ms": endpoint, **d,
                         "cancelled": any(e.type == "cancelled" for e in evs)})
        print(f"\n{'#':>2}  {'transcript':<24} {'endpoint':>8} {'stt':>6} {'action':>7} "
              f"{'first_audio':>11}  (ms, from vad-end)")
        fmt = lambda r, k: f"{r[k]:.0f}" if r.get(k) is not None else "-"  # noqa: E731
        for i, r in enumerate(rows, 1):
            note = " cancelled (barge-in)" if r["cancelled"] else ""
            print(f"{i:>2}  {r['transcript'][:24]:<24} {fmt(r, 'endpoint_ms'):>8} "
                  f"{fmt(r, 'stt'):>6} {fmt(r, 'action'):>7} {fmt(r, 'first_audio'):>11}{note}")
        firsts = [r["first_audio"] for r in rows if "first_audio" in r]
        ends = [r["first_audio"] + (r["endpoint_ms"] or 0) for r in rows if "first_audio" in r]
        if firsts:
            print(f"\nmedian end-of-speech (vad-end) -> first audio: {statistics.median(firsts):.0f} ms "
                  f"over {len(firsts)} turns (min {min(firsts):.0f}, max {max(firsts):.0f})")
            print(f"median last spoken word -> first audio (adds the endpointing silence): "
                  f"{statistics.median(ends):.0f} ms")
        if args.json:
            args.json.write_text(json.dumps({"turns": rows, "commands": commands}, indent=2))
        return 0 if len(firsts) == args.turns else 1
    finally:
        if driver is not None:
            driver.quit()
        app.close()
        site.stop()


if __name__ == "__main__":
    sys.exit(main())
