"""The browser stage's interface, as the agent and the UI see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sayso.types import ToolCall, ToolResult


@dataclass(frozen=True, slots=True)
class TabInfo:
    index: int  # 1-based, as spoken ("tab two")
    title: str
    url: str
    active: bool


@dataclass(frozen=True, slots=True)
class BrowserState:
    url: str = ""
    title: str = ""
    tabs: tuple[TabInfo, ...] = field(default_factory=tuple)


@runtime_checkable
class Browser(Protocol):
    """One user's browser. Every tool of the contract goes through ``execute``.

    ``execute`` never raises for a tool failure: it returns ToolResult(ok=False, message=one
    sentence, error_code=...). ``summarize_page`` returns the page's main text in
    ``data["text"]``; the agent does the summarising with the LLM. ``stop`` is handled by the
    agent, not the browser.
    """

    async def execute(self, call: ToolCall) -> ToolResult: ...

    async def state(self) -> BrowserState: ...

    async def screenshot(self) -> bytes | None:
        """A viewport JPEG for the UI, or None if there is no page."""
        ...

    async def close(self) -> None:
        """Quit the browser and every process it started."""
        ...
