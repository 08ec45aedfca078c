"""The functions Gradio calls: they find the caller's session and render its view.

No decisions are made here: a handler turns a page event into a session call (a turn, a
microphone chunk, a settings change) and the session's view into component values. Every
handler is async and runs on the server's event loop, like the sessions it drives.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

from sayso.config import Settings
from sayso.errors import SaysoError
from sayso.ui.audio_stream import describe, load_upload
from sayso.ui.render import (
    ConversationView,
    banner_html,
    browser_html,
    latency_html,
    safe_message,
    status_html,
)
from sayso.ui.sessions import SESSION_FIELDS, Frame, SessionLimitError, SessionManager, UiSession

log = logging.getLogger(__name__)

MODES = ("Hands-free", "Push-to-talk")


def session_id(request: gr.Request | None) -> str:
    sid = getattr(request, "session_hash", None) if request is not None else None
    return sid or "anonymous"


class UiHandlers:
    """Page events -> session calls -> component values."""

    def __init__(self, manager: SessionManager, settings: Settings) -> None:
        self.manager = manager
        self.settings = settings

    # ------------------------------------------------------------------ helpers
    async def _session(self, request: gr.Request | None) -> UiSession:
        return await self.manager.get(session_id(request))

    def _browser_note(self, session: UiSession) -> str:
        if session.browser is None:
            return session.stages.notes.get("browser", "No browser in this session.")
        return ""

    def turn_values(self, session: UiSession, frame: Frame) -> tuple[Any, ...]:
        view = session.view
        return (
            view.messages() if frame.chat else gr.skip(),
            frame.audio if frame.audio else gr.skip(),
            status_html(view.status) if frame.status else gr.skip(),
            latency_html(view.latency, view.latency_kind) if frame.latency else gr.skip(),
            browser_html(view.browser, self._browser_note(session)) if frame.browser else gr.skip(),
        )

    @staticmethod
    def _busy_values(exc: SaysoError) -> tuple[Any, ...]:
        view = ConversationView()
        view.notice(exc.one_line())
        return (view.messages(), gr.skip(), status_html("offline", "busy"), gr.skip(), gr.skip())

    async def _run(self, session: UiSession, kind: str, payload: Any) -> AsyncIterator[tuple]:
        async for frame in session.turn(kind, payload):
            yield self.turn_values(session, frame)

    # ------------------------------------------------------------------ page life
    async def on_load(self, request: gr.Request) -> tuple[Any, ...]:
        """Open the tab's session: chat, status, latency, browser, banner, settings."""
        try:
            session = await self._session(request)
        except SessionLimitError as exc:
            busy = self._busy_values(exc)
            return (busy[0], busy[2], latency_html({}), browser_html(ConversationView().browser),
                    f'<div class="sayso-banner" role="alert">{safe_message(exc.one_line())}</div>',
                    gr.update(interactive=False), gr.update(interactive=False),
                    *[gr.skip() for _ in SETTING_INPUTS])
        view = session.view
        view.set_status(view.idle_status())
        s = session.settings
        return (view.messages(), status_html(view.status), latency_html(view.latency),
                browser_html(view.browser, self._browser_note(session)),
                banner_html(session.stages.notes), gr.update(interactive=True),
                gr.update(interactive=session.mic is not None),
                *self._settings_values(s, session))

    async def on_unload(self, request: gr.Request) -> None:
        await self.manager.release(session_id(request), reason="page closed")

    # ------------------------------------------------------------------ typed input
    async def on_text(self, text: str, request: gr.Request) -> AsyncIterator[tuple]:
        text = (text or "").strip()
        try:
            session = await self._session(request)
        except SessionLimitError as exc:
            yield (*self._busy_values(exc), gr.skip())
            return
        if not text:
            yield (*[gr.skip()] * 5, "")
            return
        first = True
        async for values in self._run(session, "text", text[:2000]):
            yield (*values, "" if first else gr.skip())
            first = False

    # ------------------------------------------------------------------ microphone
    async def on_mic_start(self, request: gr.Request) -> str:
        try:
            session = await self._session(request)
        except SessionLimitError:
            return status_html("offline", "busy")
        if session.mic is None:
            return status_html("offline", "microphone unavailable")
        session.mic.reset()
        session.view.mic_on = True
        session.view.set_status("listening" if session.mic.hands_free else "hearing")
        return status_html(session.view.status,
                           "" if session.mic.hands_free else "recording; stop to send")

    async def on_mic_chunk(self, chunk: Any, request: gr.Request) -> tuple[Any, Any, Any]:
        """A microphone chunk: returns (utterance signal, barge-in signal, status)."""
        session = self.manager.peek(session_id(request))
        if session is None or chunk is None:
            try:
                session = await self._session(request)
            except SessionLimitError:
                return gr.skip(), gr.skip(), gr.skip()
            if chunk is None:
                return gr.skip(), gr.skip(), gr.skip()
        rate, samples = chunk
        if log.isEnabledFor(logging.DEBUG):
            log.debug("mic chunk %s peak %d", describe(chunk), int(abs(samples).max(initial=0)))
        view = session.view
        before_barge, before_status = session.barge_count, (view.status, view.partial)
        try:
            n = await session.on_mic(int(rate), samples)
        except SaysoError as exc:
            log.info("microphone chunk refused: %s", exc.one_line())
            return gr.skip(), gr.skip(), status_html("offline", safe_message(exc.message))
        return (str(session.utt_count) if n else gr.skip(),
                str(session.barge_count) if session.barge_count != before_barge else gr.skip(),
                status_html(view.status, view.partial)  # the words so far, as the user talks
                if (view.status, view.partial) != before_status else gr.skip())

    async def on_mic_stop(self, request: gr.Request) -> tuple[Any, Any, Any]:
        session = self.manager.peek(session_id(request))
        if session is None:
            return gr.skip(), gr.skip(), gr.skip()
        n = await session.on_mic_stop()
        session.view.mic_on = False
        if not session.turn_active:
            session.view.set_status("thinking" if n else "idle")
        return (str(session.utt_count) if n else gr.skip(), gr.skip(),
                status_html(session.view.status))

    async def on_utterance(self, _signal: str, request: gr.Request) -> AsyncIterator[tuple]:
        """Run the queued utterances as turns; stop after a barge-in so a fresh stream plays."""
        session = self.manager.peek(session_id(request))
        log.debug("utterance signal %r: %d pending", _signal,
                  len(session.pending) if session else -1)
        if session is None:
            return
        while session.pending:
            utt = session.pending.popleft()
            async for values in self._run(session, "voice", utt):
                yield values
            if session.last.cancelled:
                break

    async def on_upload(self, path: str | None, request: gr.Request) -> AsyncIterator[tuple]:
        if not path:
            return
        try:
            session = await self._session(request)
        except SessionLimitError as exc:
            yield (*self._busy_values(exc), None)
            return
        try:
            utt = await self._read_upload(session, path)
        except SaysoError as exc:
            session.view.notice(exc.one_line())
            yield (session.view.messages(), gr.skip(), status_html(session.view.status),
                   gr.skip(), gr.skip(), None)
            return
        first = True
        async for values in self._run(session, "voice", utt):
            yield (*values, None if first else gr.skip())
            first = False

    async def _read_upload(self, session: UiSession, path: str | Path) -> Any:
        s = session.settings
        return await load_upload(
            path, max_seconds=s.max_upload_s, max_bytes=int(s.max_upload_mb * 1e6),
            segmenter=session.stages.new_segmenter(s, None, speculative=False))

    async def on_stop(self, request: gr.Request) -> str:
        session = self.manager.peek(session_id(request))
        if session is None:
            return gr.skip()
        session.pending.clear()
        await session.cancel()
        return status_html(session.view.idle_status())

    async def on_warm_tick(self) -> tuple[Any, Any]:
        """While the LLM warms up in the background: the banner says so, then clears."""
        stages = self.manager.stages
        if not stages.llm_warm:
            return gr.skip(), gr.skip()
        return banner_html(stages.notes), gr.Timer(active=False)

    # ------------------------------------------------------------------ settings
    def _settings_values(self, s: Settings, session: UiSession) -> list[Any]:
        values: list[Any] = []
        for key in SETTING_INPUTS:
            if key == "hands_free":
                values.append(MODES[0] if session.view.hands_free else MODES[1])
            elif key == "browser_headless":
                values.append(not s.browser_headless)
            else:
                values.append(getattr(s, key))
        return values

    async def on_apply(self, stt: str, stt_model: str, llm: str, llm_model: str, tts: str,
                       tts_voice: str, tts_rate: float, ollama_host: str, search_engine: str,
                       hands_free: str, headed: bool, request: gr.Request) -> tuple[str, str]:
        values = [stt, stt_model, llm, llm_model, tts, tts_voice, tts_rate, ollama_host,
                  search_engine, hands_free, headed]
        try:
            session = await self._session(request)
        except SessionLimitError as exc:
            return safe_message(exc.one_line()), gr.skip()
        changes: dict[str, Any] = {}
        for key, value in zip(SETTING_INPUTS, values, strict=True):
            if key == "hands_free":
                value = value == MODES[0]
            elif key == "browser_headless":
                value = not bool(value)
            elif isinstance(value, str):
                value = value.strip()
            changes[key] = value
        try:
            msg = await session.apply_settings(changes)
        except SaysoError as exc:
            msg = exc.one_line()
        return safe_message(msg), banner_html(session.stages.notes)

    # ------------------------------------------------------------------ API
    async def api_text(self, text: str, request: gr.Request) -> tuple[dict[str, Any], Any]:
        """One typed turn: JSON (transcript, reply, actions, browser, timings) and its speech."""
        try:
            session = await self._session(request)
        except SessionLimitError as exc:
            return {"errors": [safe_message(exc.one_line())], "busy": True}, None
        text = (text or "").strip()[:2000]
        if not text:
            return {"errors": ["Say or type something."]}, None
        async for _ in session.turn("text", text):
            pass
        return session.last.as_json(), session.last.audio

    async def api_voice(self, path: str | None, request: gr.Request) -> tuple[dict[str, Any], Any]:
        """One spoken turn from an audio file: the same JSON and speech as ``api_text``."""
        try:
            session = await self._session(request)
        except SessionLimitError as exc:
            return {"errors": [safe_message(exc.one_line())], "busy": True}, None
        if not path:
            return {"errors": ["No audio was sent."]}, None
        try:
            utt = await self._read_upload(session, path)
        except SaysoError as exc:
            return {"errors": [safe_message(exc.one_line())], "code": exc.code}, None
        async for _ in session.turn("voice", utt):
            pass
        return session.last.as_json(), session.last.audio


#: the settings panel's inputs, in order (a subset of SESSION_FIELDS)
SETTING_INPUTS: tuple[str, ...] = tuple(SESSION_FIELDS)
