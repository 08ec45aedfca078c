from __future__ import annotations

from pathlib import Path

import pytest

from sayso.config import describe_settings, load_settings
from sayso.errors import ConfigError


def test_defaults_are_local_and_private() -> None:
    s = load_settings()
    assert s.ui_host == "127.0.0.1"
    assert s.stt == "moonshine" and s.tts == "piper" and s.llm == "auto"
    assert s.stt_thread_count() == 1  # measured best for Moonshine on 2 cores (docs/speech.md)
    assert load_settings(stt="faster-whisper").stt_thread_count() == 2


def test_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAYSO_STT_THREADS", "4")
    monkeypatch.setenv("SAYSO_TTS", "wyoming://10.0.0.5:10200")
    s = load_settings()
    assert s.stt_threads == 4
    assert s.tts == "wyoming://10.0.0.5:10200"


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("SAYSO_LLM", "gpt9", "'auto', 'embedded', 'ollama' or 'openai'"),
        ("SAYSO_STT", "vosk", "faster-whisper, moonshine, transformers"),
        ("SAYSO_STT_THREADS", "many", "integer"),
        ("SAYSO_VAD_SILENCE_MS", "10", "greater than or equal to 50"),
        ("SAYSO_OLLAMA_HOST", "localhost:11434", "http://"),
        ("SAYSO_SEARCH_ENGINE", "https://example.org/", "{query}"),
    ],
)
def test_invalid_value_names_key_and_allowed(monkeypatch: pytest.MonkeyPatch, key: str, value: str, needle: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    line = info.value.one_line()
    assert key in line and needle in line
    assert "\n" not in line


def test_toml_sections_and_flat_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "sayso.toml"
    cfg.write_text('log_level = "DEBUG"\n[stt]\nbackend = "transformers"\nthreads = 3\n[ui]\nport = 9000\n')
    monkeypatch.setenv("SAYSO_CONFIG", str(cfg))
    s = load_settings()
    assert (s.log_level, s.stt, s.stt_threads, s.ui_port) == ("DEBUG", "transformers", 3, 9000)
    monkeypatch.setenv("SAYSO_UI_PORT", "9100")  # env wins over the file
    assert load_settings().ui_port == 9100


def test_toml_unknown_key_and_bad_syntax(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "sayso.toml"
    cfg.write_text("[stt]\nmodle = 'x'\n")
    monkeypatch.setenv("SAYSO_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="Unknown setting 'stt_modle'"):
        load_settings()
    cfg.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()
    monkeypatch.setenv("SAYSO_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_every_setting_is_documented_and_secrets_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAYSO_AUTH", "alice:hunter2")
    rows = describe_settings(load_settings())
    assert all(r["doc"] for r in rows), [r["key"] for r in rows if not r["doc"]]
    auth = next(r for r in rows if r["key"] == "auth")
    assert auth["value"] == "***"
    assert "hunter2" not in repr(rows)
