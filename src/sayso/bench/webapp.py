"""The web app end to end: spoken turns through a real Chromium page with a fake microphone.

The measurement itself is ``scripts/measure_ui_latency.py`` (it starts the real app, opens it in
headless Chromium whose fake microphone plays spoken commands, and reads every turn); the
benchmark runs it in a process of its own once our models are closed, and reads the JSON it
writes (``--json``). Per turn, end of speech -> first audio is, in order of preference:

- ``page_ms``: end of speech -> first audio PLAYED, both measured in the page (the script of
  the live-voice transport; each turn names its ``path``: ``live`` for the WebSocket, ``record``
  for the Record button's stream);
- ``eos_to_first_audio_ms``, the same under another name;
- ``endpoint_ms + first_audio``: the endpointer's wait plus ``vad-end`` -> ``tts-first-audio``
  on the server (the older script), which leaves out the way to the page's speaker.

Barge-in rounds (``barge``: overlapping speech starts -> the page's output is silent) are
summarised too.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SCRIPT = Path("scripts") / "measure_ui_latency.py"
#: per turn: the gap of silence after each command plus a turn, and the app's start
TIMEOUT_PER_TURN_S = 45.0
TIMEOUT_START_S = 240.0
TIMEOUT_BARGE_S = 120.0


def find_script() -> Path | None:
    """The measurement script of this checkout (the bench runs from the repository)."""
    import sayso

    for root in (Path.cwd(), Path(sayso.__file__).resolve().parents[2]):
        if (root / SCRIPT).is_file():
            return root / SCRIPT
    return None


PATH_TITLES = {"live": "live voice (WebSocket)", "record": "Record button (Gradio stream)"}


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median_ms": None, "p95_ms": None, "max_ms": None}
    arr = np.asarray(values)
    return {"median_ms": round(float(np.median(arr)), 1), "p95_ms": round(float(np.percentile(arr, 95)), 1),
            "max_ms": round(float(arr.max()), 1)}


def _turn_ms(row: dict[str, Any]) -> tuple[float | None, str]:
    for key in ("page_ms", "eos_to_first_audio_ms"):
        if row.get(key) is not None:
            return float(row[key]), "played in the page"
    if row.get("first_audio") is not None:
        return float(row["first_audio"]) + float(row.get("endpoint_ms") or 0.0), "handed to the page (server side)"
    return None, ""


def summarize_turns(data: dict[str, Any]) -> dict[str, Any]:
    """The script's JSON -> per path (live voice, Record button) the median and p95 of end of
    speech -> first audio over its turns, and the barge-in figures."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in data.get("turns", []):
        rows.setdefault(str(row.get("path") or data.get("transport") or "record"), []).append(row)
    paths: dict[str, Any] = {}
    for path, turns in rows.items():
        pairs = [_turn_ms(r) for r in turns]
        values = [v for v, _ in pairs if v is not None]
        paths[path] = {"title": PATH_TITLES.get(path, path), "n": len(values), "turns": len(turns),
                       "measured": ", ".join(sorted({how for v, how in pairs if v is not None})) or None,
                       **_stats(values)}
    out: dict[str, Any] = {"paths": paths}
    barge = [float(b["barge_ms"]) for b in data.get("barge", []) if b.get("barge_ms") is not None]
    if data.get("barge"):
        out["barge"] = {"rounds": len(data["barge"]), "n": len(barge), **_stats(barge)}
    if not any(p["n"] for p in paths.values()):
        out["note"] = f"no turn of {sum(len(t) for t in rows.values())} reached first audio"
    return out


def measure_webapp(turns: int, out_dir: Path) -> dict[str, Any]:
    """Run the web app measurement; its figures, or a note saying why there are none."""
    script = find_script()
    if script is None:
        return {"paths": {}, "note": f"{SCRIPT} not found (run from the repository)"}
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "webapp.json"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "GRADIO_ANALYTICS_ENABLED": "False"}
    timeout = TIMEOUT_START_S + TIMEOUT_PER_TURN_S * turns * 2 + TIMEOUT_BARGE_S  # two paths
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run([sys.executable, str(script), "--turns", str(turns), "--json", str(json_path)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=err, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"paths": {}, "note": f"the web app measurement took over {timeout:.0f} s"}
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        why = tail[0][:200] if tail else "no output"
        return {"paths": {}, "note": f"the web app measurement failed ({proc.returncode}): {why}"}
    out = summarize_turns(data)
    out["script"] = str(script)
    out["exit_code"] = proc.returncode
    return out
