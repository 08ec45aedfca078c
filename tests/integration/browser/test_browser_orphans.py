"""Nothing outlives its owner: a Python process that owns a browser is SIGKILLed (no atexit, no
cleanup of its own), and its driver, browser, renderers and profile directory go away anyway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sayso.models import bundled_geckodriver
from sayso.testsite import TestSite

from .conftest import alive

pytestmark = pytest.mark.slow

GONE_WITHIN_S = 10.0
# the owner: opens a page, prints its browser's pids and profile, then waits to be killed
OWNER = """
import json, sys, time
from sayso.config import load_settings
from sayso.browser.driver import DriverSession
s = DriverSession(load_settings(browser=sys.argv[1], browser_headless=True, browser_allowlist=["127.0.0.1"],
                                home_url="about:blank"))
s.launch()
s.driver.get(sys.argv[2])
assert s.driver.title == "Sayso Test Home", s.driver.title
profile = s._profile_dir or s.owned.marker
print(json.dumps({"pids": s.owned_pids(), "driver": s.owned.driver_pid, "profile": profile}), flush=True)
time.sleep(600)
"""


def _firefox_missing() -> bool:
    return not (shutil.which("firefox-esr") or shutil.which("firefox")) or bundled_geckodriver() is None


@pytest.mark.parametrize("kind", ["chromium", pytest.param("firefox", marks=pytest.mark.skipif(
    _firefox_missing(), reason="Firefox or the bundled geckodriver is not installed"))])
def test_a_sigkilled_owner_leaves_no_browser_behind(site: TestSite, kind: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAYSO_")}
    env["SAYSO_DATA_DIR"] = os.environ["SAYSO_DATA_DIR"]
    src = str(Path(__file__).resolve().parents[3] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    owner = subprocess.Popen([sys.executable, "-c", OWNER, kind, site.url("/")], stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        assert line, "the owner process could not open the browser"
        info = json.loads(line)
        pids = set(info["pids"])
        names = {psutil.Process(p).name() for p in alive(pids)}
        driver = "chromedriver" if kind == "chromium" else "geckodriver"
        assert driver in " ".join(names) and info["driver"] in pids
        assert any(("chrom" if kind == "chromium" else "firefox") in n.lower() for n in names if driver not in n)
        assert Path(info["profile"]).is_dir()
    except BaseException:
        owner.kill()
        owner.wait()
        raise

    owner.kill()  # SIGKILL: the owner gets no chance to clean up
    owner.wait()
    deadline = time.monotonic() + GONE_WITHIN_S
    left = alive(pids)
    while (left or Path(info["profile"]).exists()) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the pids, not waiting a fixed time
        left = alive(pids)
    for pid in left:  # do not leak them into the other tests, then fail
        psutil.Process(pid).kill()
    assert not left, f"still running {GONE_WITHIN_S:.0f} s after the owner died: {left}"
    assert not Path(info["profile"]).exists(), "the browser profile was left behind"
