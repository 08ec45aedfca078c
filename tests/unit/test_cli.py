from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from sayso.audio.io import write_wav
from sayso.types import AudioChunk


def sayso(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SAYSO_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "sayso", *args], capture_output=True, text=True,
                          env=full_env, timeout=120, check=False)


def test_unknown_flag_is_one_line_no_traceback() -> None:
    r = sayso("doctor", "--bogus")
    assert r.returncode == 2
    assert "No such option: --bogus" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_invalid_config_is_one_line() -> None:
    r = sayso("config", env={"SAYSO_LLM": "gpt9"})
    assert r.returncode == 1
    assert r.stderr.strip().startswith("error: Invalid setting SAYSO_LLM")
    assert "Traceback" not in r.stderr


def test_corrupt_audio_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"RIFF....WAVEjunkjunk")
    r = sayso("transcribe", str(bad))
    assert r.returncode == 1
    assert "not audio sayso can read" in r.stderr and "Traceback" not in r.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    r = sayso("--debug", "transcribe", str(tmp_path / "missing.wav"))
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_doctor_json_reports_and_passes_here() -> None:
    r = sayso("doctor", "--json")
    report = json.loads(r.stdout)
    names = {c["name"] for c in report["checks"]}
    assert {"chromium", "chromedriver", "ffmpeg", "whisper tiny.en"} <= names
    assert r.returncode == (0 if report["ok"] else 1)
    assert report["ok"], [c for c in report["checks"] if c["status"] == "missing"]


def test_doctor_fails_with_fix_when_system_parts_missing(tmp_path: Path) -> None:
    r = sayso("doctor", "--json", env={"PATH": str(tmp_path)})  # no chromium, no ffmpeg on PATH
    assert r.returncode == 1
    report = json.loads(r.stdout)
    missing = {c["name"]: c["fix"] for c in report["checks"] if c["status"] == "missing"}
    assert missing["chromium"] == "sudo apt-get install -y chromium"
    assert missing["ffmpeg"] == "sudo apt-get install -y ffmpeg"


def test_config_lists_every_setting_as_markdown() -> None:
    r = sayso("config", "--markdown")
    assert r.returncode == 0
    assert "`SAYSO_STT_MODEL`" in r.stdout and "`SAYSO_LLM`" in r.stdout


def test_wav_written_by_us_is_accepted_by_the_cli_validation(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "ok.wav", AudioChunk(np.zeros(1600, np.int16), 16000, 1))
    r = sayso("transcribe", str(wav), "--json")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "" or "error" not in r.stderr.lower()
    heard = json.loads(r.stdout)
    assert heard["audio_s"] == 0.1 and heard["text"].strip() == ""  # silence: read, nothing said
