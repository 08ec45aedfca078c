"""What the benchmark measures besides turns: peak memory, the machine, the app's cold start."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from sayso.events import now_ms

COLD_START_TIMEOUT_S = 90.0


class RssSampler:
    """Samples this process's RSS, and with its children (the browser, drivers), in a thread.

    The sum over processes counts shared pages more than once: an upper bound.
    """

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self.peak_self = 0
        self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sayso-bench-rss", daemon=True)
        self._proc = psutil.Process()

    def sample(self) -> None:
        try:
            own = self._proc.memory_info().rss
            tree = own
            for child in self._proc.children(recursive=True):
                try:
                    tree += child.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
        except psutil.Error:
            return
        self.peak_self = max(self.peak_self, own)
        self.peak_tree = max(self.peak_tree, tree)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sample()

    def to_json(self) -> dict[str, float]:
        return {"process": round(self.peak_self / 2**20, 1), "with_children": round(self.peak_tree / 2**20, 1)}


def load_avg() -> list[float]:
    """1, 5 and 15 minute load averages (the machine is shared: read timings with these)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    load = load_avg()
    return {
        "cpu_count": os.cpu_count() or 0,
        "cpu": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": load,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_cold_start(data_dir: Path, timeout_s: float = COLD_START_TIMEOUT_S) -> tuple[float | None, str]:
    """Milliseconds from starting ``sayso ui`` (a new process) to its first HTTP 200.

    Returns (ms, "") or (None, why not).
    """
    port = _free_port()
    env = {**os.environ, "SAYSO_UI_PORT": str(port), "SAYSO_UI_HOST": "127.0.0.1",
           "SAYSO_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    t0 = now_ms()
    proc = subprocess.Popen([sys.executable, "-m", "sayso", "ui"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace")
                    last = err.strip().splitlines()[-1:] or ["no output"]
                    return None, f"the app exited ({proc.returncode}): {last[0][:160]}"
                try:
                    if client.get(f"http://127.0.0.1:{port}/").status_code == 200:
                        return round(now_ms() - t0, 1), ""
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        return None, f"no answer within {timeout_s:.0f} s"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
