"""sayso's modules import each other without cycles (scripts/check_imports.py, read with ast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_import_cycles_among_saysos_modules() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_imports.py"), str(ROOT / "src")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith(" 0 cycle(s)")


def test_the_check_finds_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "sayso"
    (pkg / "tts").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tts" / "__init__.py").write_text("")
    (pkg / "tts" / "espeak.py").write_text("def f():\n    from sayso.tts.factory import g\n")
    (pkg / "tts" / "factory.py").write_text("from sayso.tts import espeak\n")
    (pkg / "types.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sayso.tts import espeak\n")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_imports.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert "sayso.tts.espeak -> sayso.tts.factory; sayso.tts.factory -> sayso.tts.espeak" in run.stdout
    assert "1 cycle(s)" in run.stdout
