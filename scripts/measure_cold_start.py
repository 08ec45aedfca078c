#!/usr/bin/env python3
"""Cold start of the web app: launch -> page served -> first fast-path command done -> LLM warm.

Launches ``sayso ui`` as a fresh process (against the local test site), alternating the LLM
loaded in the background (``SAYSO_LLM_BACKGROUND_LOAD=true``, the default) and in the
foreground (the old way), ``--runs`` times each. For every launch it reports, in seconds from
the process start:

- ``page``: the page is served (HTTP 200 on /);
- ``fast``: a first typed command ("scroll down", fast path) has run in the browser, through
  the app's API (the session opens, its browser starts, the command acts);
- ``llm``: a first question ("what is two plus two") is answered by the LLM (it waits for the
  warm-up when the LLM is still loading);
- ``warm``: the LLM's own "warm after" log line, when it loaded in the background.

Usage: ``.venv/bin/python scripts/measure_cold_start.py [--runs 2] [--json OUT]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from sayso.testsite import TestSite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch_once(background: bool, site: TestSite, tmp: Path) -> dict[str, Any]:
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, "SAYSO_UI_PORT": str(port), "SAYSO_HOME_URL": site.url("/"),
           "SAYSO_BROWSER_ALLOWLIST": '["127.0.0.1"]', "SAYSO_DATA_DIR": str(tmp / f"d{port}"),
           "SAYSO_LLM_BACKGROUND_LOAD": "true" if background else "false",
           "SAYSO_LLM_TIMEOUT_S": "180", "OMP_WAIT_POLICY": "PASSIVE",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "sayso", "ui"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    out: dict[str, Any] = {"background": background}
    lines: list[str] = []

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"warm after ([\d.]+) s", line)
            if m and "warm" not in out:
                out["warm"] = round(time.monotonic() - t0, 2)

    threading.Thread(target=read_log, daemon=True).start()
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit("sayso ui exited:\n" + "".join(lines[-20:]))
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        out["page"] = round(time.monotonic() - t0, 2)
        client = Client(url, verbose=False)
        result, _ = client.predict("scroll down", api_name="/text")
        if not (result.get("actions") and result["actions"][0]["tool"] == "scroll"):
            raise SystemExit(f"the first command did not run: {result}")
        out["fast"] = round(time.monotonic() - t0, 2)
        answer, _ = client.predict("what is two plus two", api_name="/text")
        out["llm"] = round(time.monotonic() - t0, 2)
        out["answer"] = answer.get("reply", "")[:60]
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values and len(values) == len(rows) else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2, help="launches of each kind, alternating")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sayso-cold-"))
    rows: list[dict[str, Any]] = []
    with TestSite() as site:
        for i in range(args.runs * 2):
            row = launch_once(background=i % 2 == 0, site=site, tmp=tmp)
            row["load"] = round(os.getloadavg()[0], 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'LLM load':<12} {'page':>6} {'fast':>6} {'llm':>6} {'warm':>6}  (s from launch, median)")
    for background in (True, False):
        sel = [r for r in rows if r["background"] is background]
        cells = [_median(sel, k) for k in ("page", "fast", "llm", "warm")]
        print(f"{'background' if background else 'foreground':<12} "
              + " ".join(f"{v:6.1f}" if v is not None else "     -" for v in cells))
    print(f"load average at the end: {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
