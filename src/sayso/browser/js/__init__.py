"""The JavaScript the browser actions run in the page: one ``NAME.js`` file per script.

Each file is the body of the function Selenium's ``execute_script`` runs (it reads
``arguments[i]`` and may ``return``). Values go in as arguments, never pasted into the source.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def script(name: str) -> str:
    """The source of ``NAME.js`` (read once)."""
    return files(__package__).joinpath(f"{name}.js").read_text(encoding="utf-8")
