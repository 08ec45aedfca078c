"""Choosing the Whisper model: bundled, a directory, or Whisper base joined from its parts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sayso.errors import ConfigError
from sayso.stt import models as stt_models


def _fake_parts(root: Path, payload: bytes) -> dict[str, Path]:
    """Two installed 'packages' holding halves of a model.bin, like the real wheels."""
    dirs = {}
    for i, pkg in enumerate(stt_models.BASE_PARTS, start=1):
        data = root / pkg / "data"
        data.mkdir(parents=True)
        half = payload[: len(payload) // 2] if i == 1 else payload[len(payload) // 2:]
        (data / f"model.bin.part{i}").write_bytes(half)
        if i == 1:
            for name in stt_models.BASE_FILES:
                (data / name).write_text("{}")
        dirs[pkg] = root / pkg
    return dirs


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    payload = b"whisper base weights " * 1000
    dirs = _fake_parts(tmp_path / "site", payload)
    monkeypatch.setattr(stt_models.models, "package_dir", lambda name: dirs.get(name))
    return payload


def test_base_is_joined_once_and_hash_checked(parts: bytes, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(stt_models, "BASE_SHA256", hashlib.sha256(parts).hexdigest())
    cache = tmp_path / "cache"
    model_dir = stt_models.resolve_model("base", cache)
    assert (model_dir / "model.bin").read_bytes() == parts
    assert {p.name for p in model_dir.iterdir()} >= {"model.bin", "config.json", "tokenizer.json"}
    joined = (model_dir / "model.bin").stat().st_mtime_ns
    assert stt_models.resolve_model("base", cache) == model_dir  # second time: no re-join
    assert (model_dir / "model.bin").stat().st_mtime_ns == joined


def test_parts_that_do_not_match_the_pinned_hash_are_refused(parts: bytes, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        stt_models.resolve_model("base", tmp_path / "cache")
    assert err.value.code == "stt.model_corrupt"
    assert not (tmp_path / "cache" / "whisper-base" / "model.bin").exists()


def test_missing_models_name_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stt_models.models, "package_dir", lambda name: None)
    with pytest.raises(ConfigError, match=r"sayso\[whisper-base\]"):
        stt_models.resolve_model("base", tmp_path)
    with pytest.raises(ConfigError, match="not available offline"):
        stt_models.resolve_model("large-v3", tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        stt_models.resolve_model(str(tmp_path / "nope"), tmp_path)


def test_bundled_tiny_en_and_a_model_directory_resolve(tmp_path: Path) -> None:
    bundled = stt_models.resolve_model("", tmp_path)
    assert (bundled / "model.bin").is_file()
    assert stt_models.resolve_model(str(bundled), tmp_path) == bundled
