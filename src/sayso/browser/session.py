"""``SeleniumBrowser``: the Browser protocol over one DriverSession and one worker thread.

Every WebDriver call runs in the session's single worker thread, so the event loop never blocks
and commands run in the order they were given. Around each command:

- arguments are checked first by the tool contract (``sayso.tools.validate``), URLs by
  policy.py when they open; a bad one is a ToolResult, not an error;
- the browser launches lazily on the first command;
- a crash (browser or driver gone, tab crashed, last window closed) means: kill what we started,
  relaunch, reopen the tabs, retry the command once, and say so in the message;
- a watchdog kills the browser if one command takes longer than any command may
  (the page-load and HTTP timeouts should fire first); the next command starts a fresh one.

``state()`` is the cached state after the last command: it never waits for the browser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from sayso.browser.actions import ACTIONS, fail, screenshot_jpeg
from sayso.browser.base import BrowserState
from sayso.browser.driver import DriverSession, classify, on_relaunch, short_error
from sayso.config import Settings
from sayso.errors import BrowserError, ToolArgsError, UnsafeUrlError
from sayso.tools import validate
from sayso.types import ToolCall, ToolResult

log = logging.getLogger(__name__)
T = TypeVar("T")

RELAUNCH_NOTE = "The browser had crashed, so I restarted it. "
UNRESPONSIVE = "The browser stopped responding, so I closed it; it will start again with your next command."


class SeleniumBrowser:
    """One user's real browser (Chromium, Firefox or a Selenium Grid), driven by tool calls."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        watchdog_s: float | None = None,
        on_relaunch_cb: Callable[[str], None] | None = None,
    ) -> None:
        if settings is None:
            from sayso.config import load_settings

            settings = load_settings()
        self.settings = settings
        self.session = DriverSession(settings)
        # last resort only: the page-load (15 s) and HTTP (30 s) timeouts fire first; a relaunch
        # that restores tabs may legitimately take a while on a busy machine
        self.watchdog_s = watchdog_s if watchdog_s is not None else self.session.command_timeout * 2 + 30.0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sayso-browser")
        self._closed = False
        self._unsubscribe = on_relaunch(on_relaunch_cb) if on_relaunch_cb else None

    # ------------------------------------------------------------------ protocol

    async def execute(self, call: ToolCall) -> ToolResult:
        if self._closed:
            return fail(call.name, "browser.closed", "The browser is closed.")
        try:
            checked = validate(call, trusted=True)  # the agent has already dropped a model's "confirmed"
        except ToolArgsError as exc:
            return ToolResult(tool=call.name, ok=False, message=exc.message, error_code=exc.code, call_id=call.id)
        if checked.name not in ACTIONS:
            return fail(call.name, "tool.unknown", f"The browser has no tool called '{checked.name}'.")
        args = dict(checked.args)
        result = await self._in_worker(lambda: self._run(checked.name, args), self.watchdog_s, checked.name)
        return replace(result, call_id=call.id)

    async def state(self) -> BrowserState:
        return self.session.state

    async def start(self) -> None:
        """Launch the browser now instead of on the first command (warm-up); raises BrowserError."""
        if self._closed:
            raise BrowserError("The browser is closed.", code="browser.closed")
        await asyncio.wait_for(asyncio.shield(self._submit(self.session.ensure)), self.watchdog_s)

    async def screenshot(self) -> bytes | None:
        if self._closed or not self.session.started:
            return None

        def shoot() -> bytes | None:
            if not self.session.started:
                return None
            try:
                return screenshot_jpeg(self.session)
            except Exception as exc:  # a screenshot is best effort: the UI shows the last one
                log.info("screenshot failed: %s", short_error(exc))
                return None

        try:
            return await asyncio.wait_for(asyncio.shield(self._submit(shoot)), 20.0)
        except TimeoutError:
            return None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(asyncio.shield(self._submit(self.session.quit)), 20.0)
        except TimeoutError:
            log.warning("browser did not quit in time; killing it")
        finally:
            await asyncio.to_thread(self.session.kill)
            self._executor.shutdown(wait=False)
            if self._unsubscribe:
                self._unsubscribe()

    # ------------------------------------------------------------------ extras

    @property
    def relaunches(self) -> int:
        """How many times this browser was relaunched after a crash."""
        return self.session.relaunches

    def owned_pids(self) -> list[int]:
        """Pids of every process this browser started that is still running."""
        return self.session.owned_pids()

    async def call(self, fn: Callable[[DriverSession], T], limit_s: float = 60.0) -> T:
        """Run ``fn(session)`` in the worker thread (for tests, the benchmark and tools)."""
        return await asyncio.wait_for(asyncio.shield(self._submit(lambda: fn(self.session))), limit_s)

    # ------------------------------------------------------------------ internals

    def _submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _in_worker(self, fn: Callable[[], ToolResult], limit_s: float, tool: str) -> ToolResult:
        fut = self._submit(fn)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), limit_s)
        except TimeoutError:
            log.error("browser command %s took over %.0f s; killing the browser", tool, limit_s)
            self.session.watchdog_fired.set()
            await asyncio.to_thread(self.session.kill)
            try:
                return await asyncio.wait_for(asyncio.shield(fut), 30.0)
            except TimeoutError:
                return fail(tool, "browser.unresponsive", UNRESPONSIVE)

    def _run(self, tool: str, args: dict[str, Any]) -> ToolResult:
        """One command in the worker thread; never raises."""
        try:
            return self._run_once(tool, args)
        except Exception as exc:  # launch/relaunch failed half-way: start clean next time
            log.warning("browser command %s failed while (re)starting: %s", tool, short_error(exc))
            self.session.kill()
            return fail(tool, "browser.failed",
                        "The browser ran into trouble, so I closed it; it will start again with your next command.")

    def _run_once(self, tool: str, args: dict[str, Any]) -> ToolResult:
        """Launch if needed, act, recover once, report."""
        s = self.session
        note = ""
        try:
            if not s.ensure() and (dead := s.preflight()):
                s.relaunch(f"before {tool}: {dead}")
                note = RELAUNCH_NOTE
        except BrowserError as exc:
            return fail(tool, exc.code, exc.one_line())
        result: ToolResult | None = None
        for attempt in (0, 1):
            try:
                result = ACTIONS[tool](s, args)
            except UnsafeUrlError as exc:
                result = fail(tool, exc.code, exc.message)
            except Exception as exc:
                if s.watchdog_fired.is_set():
                    s.watchdog_fired.clear()
                    s.kill()
                    return fail(tool, "browser.unresponsive", UNRESPONSIVE)
                kind = classify(exc)
                log.info("browser command %s failed (%s): %s", tool, kind, short_error(exc))
                if kind == "timeout":
                    result = self._timed_out(tool)
                    if result.error_code == "page.wedged":
                        try:
                            s.relaunch(f"{tool}: the page stopped responding")
                        except BrowserError as launch_exc:
                            return fail(tool, launch_exc.code, launch_exc.one_line())
                elif kind == "window" and attempt == 0 and s.recover_window():
                    note = "That tab was closed, so I used the one that is open. "
                    continue
                elif kind in ("dead", "window") or not s.probe():
                    if attempt == 1:
                        result = fail(tool, "browser.crashed", "The browser crashed again; please try once more.")
                    else:
                        try:
                            s.relaunch(f"{tool}: {short_error(exc)}")
                        except BrowserError as launch_exc:
                            return fail(tool, launch_exc.code, launch_exc.one_line())
                        note = RELAUNCH_NOTE
                        continue
                else:
                    log.warning("browser command %s failed: %s", tool, short_error(exc))
                    result = fail(tool, "browser.failed", f"That didn't work on this page ({short_error(exc)[:80]}).")
            break
        assert result is not None
        try:
            s.refresh_state()
        except Exception as exc:  # the next command's health check deals with it
            log.info("could not read the browser state: %s", short_error(exc))
        if note:
            result = replace(result, message=note + result.message, data={**result.data, "relaunched": bool(note == RELAUNCH_NOTE)})
        return result

    def _timed_out(self, tool: str) -> ToolResult:
        """A page-load timeout: the page is slow (stopped, still usable) or wedged (relaunch)."""
        s = self.session
        responds, url, title = s.tab_responds()
        if responds:
            s.hung_urls.add(url)
            return fail(tool, "page.timeout", "The page took too long to load, so I stopped waiting for it.",
                        url=url, title=title)
        s.hung_urls.add(s.state.url)
        return fail(tool, "page.wedged",
                    "The page stopped responding, so I closed it and restarted the browser.",
                    url=s.state.url, relaunched=True)
