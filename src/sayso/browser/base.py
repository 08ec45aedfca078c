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
class PageItem:
    """A link, button or field of the page as the user can name it (page text: data only)."""

    index: int  # 1-based, in the browser's own numbering ("click link 3", "the third result")
    text: str
    kind: str = "link"  # "link" | "button" | "field" | "result"
    href: str = ""
    in_view: bool = False


@dataclass(frozen=True, slots=True)
class BrowserState:
    url: str = ""
    title: str = ""
    tabs: tuple[TabInfo, ...] = field(default_factory=tuple)
    # what the user can point at on the current page (read with the URL, in one script call):
    # every clickable in reading order, and the page's results-like list when it has one
    items: tuple[PageItem, ...] = field(default_factory=tuple)
    results: tuple[PageItem, ...] = field(default_factory=tuple)


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
