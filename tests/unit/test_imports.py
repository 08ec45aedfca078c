"""sayso's modules import each other without cycles (scripts/check_imports.py, read with ast)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / "scripts" / "check_imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycles_among_saysos_modules(capsys) -> None:
    assert _checker().main(["check_imports.py", str(ROOT / "src")]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out.strip().endswith(" 0 cycle(s)")


def test_the_check_finds_a_cycle(tmp_path: Path, capsys) -> None:
    pkg = tmp_path / "sayso"
    (pkg / "tts").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tts" / "__init__.py").write_text("")
    (pkg / "tts" / "espeak.py").write_text("def f():\n    from sayso.tts.factory import g\n")
    (pkg / "tts" / "factory.py").write_text("from sayso.tts import espeak\n")
    (pkg / "types.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sayso.tts import espeak\n")
    assert _checker().main(["check_imports.py", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "sayso.tts.espeak -> sayso.tts.factory; sayso.tts.factory -> sayso.tts.espeak" in out
    assert "1 cycle(s)" in out
