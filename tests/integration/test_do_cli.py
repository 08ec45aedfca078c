"""``sayso do``: the CLI contract's JSON, with real Chromium against a page served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sayso.testsite import TestSite

pytestmark = pytest.mark.slow
SAYSO = [str(Path(sys.executable).with_name("sayso"))]
KEYS = {"transcript", "actions", "reply", "browser", "timings_ms"}


@pytest.fixture(scope="module")
def site() -> Iterator[TestSite]:
    with TestSite() as s:
        yield s


def sayso(*args: str, stdin: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAYSO_LOG_LEVEL": "WARNING", "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.run([*SAYSO, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


def test_do_clicks_a_link_on_a_local_page_and_prints_the_contract_json(site: TestSite) -> None:
    run = sayso("do", "click on about us", "--url", site.url("/"), "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert set(out) == KEYS
    assert out["transcript"] == "click on about us"
    assert out["actions"] == [{"tool": "click", "args": {"text": "about us"}, "ok": True, "error": None}]
    assert out["browser"]["url"].endswith("/about.html")
    assert out["browser"]["title"].startswith("About us")
    assert out["browser"]["tabs"][0]["active"] is True
    assert "About us" in out["reply"]
    assert out["timings_ms"]["total"] >= out["timings_ms"]["intent"]


def test_dry_run_reads_utterances_from_stdin_one_json_line_each() -> None:
    run = sayso("do", "-", "--dry-run", "--json", stdin="open wikipedia\n\nswitch to tab three\nscroll down\n")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(a["tool"], a["args"]) for line in lines for a in line["actions"]] == [
        ("navigate", {"url": "wikipedia.org"}), ("switch_tab", {"index": 3}), ("scroll", {"direction": "down"})]
    assert all(set(line) == KEYS for line in lines)
    assert all(a["ok"] is None for line in lines for a in line["actions"])  # planned, not done


def test_a_bad_start_url_is_one_line_on_stderr(site: TestSite) -> None:
    run = sayso("do", "scroll down", "--url", "file:///etc/passwd", "--json")
    assert run.returncode == 1
    assert run.stdout == ""
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in run.stderr
