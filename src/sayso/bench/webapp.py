"""The web app end to end: spoken turns through a real Chromium page with a fake microphone.

The measurement itself is ``scripts/measure_ui_latency.py`` (it starts the real app, opens it in
headless Chromium whose fake microphone plays spoken commands, and reads every turn's events);
the benchmark runs it in a process of its own once our models are closed, and reads the JSON it
writes (``--json``). Per turn, the time from the end of speech to the first audio is taken as

- ``eos_to_first_audio_ms`` when the script reports it (end of speech -> first audio PLAYED in
  the page, as a streaming transport can measure it), else
- ``endpoint_ms + first_audio`` (the endpointer's wait plus ``vad-end`` -> ``tts-first-audio``
  on the server), which leaves out the transport to the page's speaker.

The top-level ``transport`` of the JSON (when the script writes one) names the audio path.
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


def find_script() -> Path | None:
    """The measurement script of this checkout (the bench runs from the repository)."""
    import sayso

    for root in (Path.cwd(), Path(sayso.__file__).resolve().parents[2]):
        if (root / SCRIPT).is_file():
            return root / SCRIPT
    return None


def summarize_turns(data: dict[str, Any]) -> dict[str, Any]:
    """The script's JSON -> median and p95 of end of speech -> first audio, over the turns."""
    values, how = [], set()
    for row in data.get("turns", []):
        if row.get("eos_to_first_audio_ms") is not None:
            values.append(float(row["eos_to_first_audio_ms"]))
            how.add("played in the page")
        elif row.get("first_audio") is not None:
            values.append(float(row["first_audio"]) + float(row.get("endpoint_ms") or 0.0))
            how.add("handed to the page (server side)")
    n = len(data.get("turns", []))
    out: dict[str, Any] = {"transport": data.get("transport", "http chunks (gr.Audio)"), "n": len(values),
                           "turns": n, "measured": ", ".join(sorted(how)) or None}
    if values:
        arr = np.asarray(values)
        out.update(median_ms=round(float(np.median(arr)), 1), p95_ms=round(float(np.percentile(arr, 95)), 1),
                   max_ms=round(float(arr.max()), 1))
    else:
        out.update(median_ms=None, p95_ms=None, max_ms=None, note=f"no turn of {n} reached first audio")
    return out


def measure_webapp(turns: int, out_dir: Path) -> dict[str, Any]:
    """Run the web app measurement; its figures, or a note saying why there are none."""
    script = find_script()
    if script is None:
        return {"median_ms": None, "note": f"{SCRIPT} not found (run from the repository)"}
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "webapp.json"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "GRADIO_ANALYTICS_ENABLED": "False"}
    timeout = TIMEOUT_START_S + TIMEOUT_PER_TURN_S * turns
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run([sys.executable, str(script), "--turns", str(turns), "--json", str(json_path)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=err, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"median_ms": None, "note": f"the web app measurement took over {timeout:.0f} s"}
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        why = tail[0][:200] if tail else "no output"
        return {"median_ms": None, "note": f"the web app measurement failed ({proc.returncode}): {why}"}
    out = summarize_turns(data)
    out["script"] = str(script)
    out["exit_code"] = proc.returncode
    return out
