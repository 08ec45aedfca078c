"""Text-mode sessions for ``sayso do`` and ``sayso chat`` (the CLI prints; this module does not).

``sayso do`` prints exactly the contract's JSON (ARCHITECTURE.md section 4)::

    {"transcript", "actions": [{"tool", "args", "ok", "error"}], "reply",
     "browser": {"url", "title", "tabs"}, "timings_ms": {...}}

``ok`` is ``null`` for planned-only actions (``--dry-run``); ``error`` is the one-sentence
reason when ``ok`` is false. ``timings_ms`` are stage durations from the turn's events
(``intent``, ``first_token``, ``action``, ``total``, ...). The LLM loads only when an utterance
needs it (the fast path handles the common commands), once per process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from sayso.agent.session import Assistant
from sayso.config import Settings
from sayso.errors import BrowserError
from sayso.events import TurnEvent, TurnSummary
from sayso.llm.base import Llm
from sayso.types import ChatMessage, LlmChunk, ToolCall

log = logging.getLogger(__name__)


class LazyLlm:
    """An Llm that builds (and warms) the configured backend on first use."""

    name = "lazy"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._llm: Llm | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Llm:
        async with self._lock:
            if self._llm is None:
                from sayso.agent.factory import build_llm

                self._llm = await build_llm(self.settings, warm=True)
                self.name = self._llm.name
            return self._llm

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[LlmChunk]:
        llm = await self.get()
        async for chunk in llm.chat(messages, response_format=response_format, max_tokens=max_tokens):
            yield chunk

    async def warmup(self) -> None:
        await self.get()

    async def close(self) -> None:
        if self._llm is not None:
            await self._llm.close()
            self._llm = None


def start_url_overrides(settings_allowlist: Sequence[str], url: str | None) -> dict[str, Any]:
    """The start URL the user typed is trusted: allow its host even when it is local."""
    if not url:
        return {}
    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    if not host or host in settings_allowlist:
        return {}
    return {"browser_allowlist": [*settings_allowlist, host]}


@asynccontextmanager
async def text_session(
    settings: Settings, *, url: str | None = None, dry_run: bool = False, llm: Llm | None = None,
    preload_llm: bool = False,
) -> AsyncIterator[Assistant]:
    """One assistant with a browser (none when ``dry_run``), opened at ``url``; closed after.

    ``preload_llm`` starts loading the LLM in the background at once (``sayso chat``), so the
    first question does not wait for the whole load.
    """
    from sayso.agent.factory import build_browser

    own_llm = llm is None
    llm = llm or LazyLlm(settings)
    preload = asyncio.create_task(_quiet_warmup(llm)) if preload_llm else None
    browser = None
    try:
        if not dry_run:
            browser = await build_browser(settings)
            if url:
                result = await browser.execute(ToolCall(name="navigate", args={"url": url}))
                if not result.ok:
                    raise BrowserError(f"Could not open {url}: {result.message}", code=result.error_code or None)
        assistant = Assistant(settings=settings, llm=llm, stt=None, tts=None, browser=browser, dry_run=dry_run)
        assistant.speak = False
        if dry_run and url:
            from sayso.browser.base import BrowserState

            assistant.page = BrowserState(url=url)
        try:
            yield assistant
        finally:
            await assistant.close()
    finally:
        if preload is not None and not preload.done():
            preload.cancel()
            await asyncio.wait({preload})
        if browser is not None:
            await browser.close()
        if own_llm:
            await llm.close()


async def _quiet_warmup(llm: Llm) -> None:
    try:
        await llm.warmup()
    except Exception as exc:  # the turn that needs the LLM reports the problem in one sentence
        log.warning("the LLM could not be preloaded: %s", exc)


async def run_turn(assistant: Assistant, text: str) -> tuple[dict[str, Any], list[TurnEvent]]:
    """One text turn: the contract's JSON object (from the turn's summary), and its events."""
    events = [ev async for ev in assistant.text_turn(text)]
    summary = next((s for ev in reversed(events) if (s := ev.summary) is not None), TurnSummary(transcript=text))
    return summary.contract(transcript=text), events


def human_lines(result: Mapping[str, Any]) -> list[str]:
    """A short readable form of one turn for the terminal."""
    lines = []
    for act in result["actions"]:
        args = ", ".join(f"{k}={v!r}" for k, v in act["args"].items())
        mark = "planned" if act["ok"] is None else ("ok" if act["ok"] else f"failed: {act['error']}")
        lines.append(f"  -> {act['tool']}({args})  [{mark}]")
    if result["reply"]:
        lines.append(result["reply"])
    url = result["browser"].get("url")
    if url and result["actions"]:
        lines.append(f"  [page: {result['browser'].get('title') or ''} {url}]".replace("  ", " ", 1))
    return lines
