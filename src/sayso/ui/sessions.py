"""Per-session state of the web app, and the manager that caps, reaps and releases sessions.

Each browser tab (each Gradio ``session_hash``; each ``gradio_client.Client``) gets its own
:class:`UiSession`: its own conversation view, assistant, browser, microphone segmenter and
settings. A session ends, releasing its browser, when its page closes (Gradio's ``unload``),
after ``session_idle_timeout_s`` without activity, or when the app stops. At most
``max_sessions`` exist at once; the next one is told politely to come back later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sayso.browser.base import Browser
from sayso.config import Settings, load_settings
from sayso.errors import SaysoError
from sayso.events import ErrorEvent, EventFanout, EventSink, TurnEvent, TurnSummary
from sayso.types import Transcript, Utterance
from sayso.ui.audio_stream import AudioOut, MicInput
from sayso.ui.render import ConversationView, safe_message
from sayso.ui.stages import AssistantLike, Stages, maybe_await, one_sentence

log = logging.getLogger(__name__)

PREEMPT_TIMEOUT_S = 8.0  # how long a new turn waits for a cancelled one to wind down
REAP_EVERY_S = 30.0

#: settings a user may change from the page, per session
SESSION_FIELDS = ("stt", "stt_model", "llm", "llm_model", "tts", "tts_voice", "tts_rate",
                  "ollama_host", "search_engine", "hands_free", "browser_headless")
_ASSISTANT_FIELDS = {"stt", "stt_model", "llm", "llm_model", "tts", "tts_voice", "tts_rate",
                     "ollama_host", "search_engine"}


class SessionLimitError(SaysoError):
    code = "ui.busy"


@dataclass(slots=True)
class Frame:
    """One update of the page during a turn: which parts changed, and speech to play."""

    chat: bool = False
    status: bool = False
    latency: bool = False
    browser: bool = False
    audio: bytes | None = None


@dataclass(slots=True)
class TurnResult:
    """A finished turn, for API clients: the turn's summary, the errors shown, the speech."""

    summary: TurnSummary = field(default_factory=TurnSummary)
    errors: list[str] = field(default_factory=list)
    audio: tuple[int, Any] | None = None  # (rate, int16 samples) of everything spoken

    @property
    def transcript(self) -> str:
        return self.summary.transcript

    @property
    def reply(self) -> str:
        return self.summary.reply

    @property
    def cancelled(self) -> bool:
        return self.summary.cancelled

    @property
    def actions(self) -> list[dict[str, Any]]:
        return [{"tool": a.tool, "args": dict(a.args), "ok": bool(a.ok is not False),
                 "message": safe_message(a.message)} for a in self.summary.actions]

    def as_json(self) -> dict[str, Any]:
        return {"transcript": self.transcript, "reply": self.reply, "actions": self.actions,
                "browser": self.summary.browser_json(), "timings_ms": dict(self.summary.timings_ms),
                "errors": self.errors, "cancelled": self.cancelled}


class UiSession:
    """One user's conversation, assistant, browser and microphone."""

    def __init__(self, sid: str, settings: Settings, stages: Stages, *,
                 sinks: tuple[EventSink, ...] = (), clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.id = sid
        self.settings = settings
        self.stages = stages
        self.clock = clock
        self.view = ConversationView(hands_free=settings.hands_free)
        self.fanout = EventFanout()
        for sink in sinks:
            self.fanout.subscribe(sink)
        self.browser: Browser | None = None
        self.assistant: AssistantLike | None = None
        self.mic: MicInput | None = None
        self.pending: deque[Utterance] = deque(maxlen=8)
        self.created = self.last_active = clock()
        self.turn_active = False
        self.barge_count = 0
        self.utt_count = 0
        self.last: TurnResult = TurnResult()
        self.closed = False
        self._lock = asyncio.Lock()
        self._mic_lock = asyncio.Lock()
        self._shot: asyncio.Task[None] | None = None
        self._shot_seen = True
        self._tasks: set[asyncio.Task[Any]] = set()
        self._turn_times: deque[float] = deque()  # start times of recent turns (rate limit)

    # ------------------------------------------------------------------ life
    async def open(self) -> None:
        self.browser = self.stages.new_browser(self.settings)
        self.assistant = await self.stages.new_assistant(self.settings, self.browser,
                                                         self.assistant_sink)
        self._new_mic()

    def assistant_sink(self, ev: TurnEvent) -> None:
        """The assistant's events to the observers (metrics, logs). A voice turn has its
        utterance's id, so its ``vad-end`` and ``turn-end`` meet."""
        self.fanout.emit(ev)

    def _new_mic(self) -> None:
        segmenter = self.stages.new_segmenter(self.settings, self._on_vad, on_final=self._speculate)
        self.mic = MicInput(segmenter=segmenter, sink=self._on_vad,
                            hands_free=self.settings.hands_free,
                            max_seconds=self.settings.vad_max_utterance_s)
        self.view.hands_free = self.mic.hands_free

    def _speculate(self, transcript: Transcript | None) -> None:
        """The user fell silent after these words: the assistant (the current one, settings
        may have replaced it) starts thinking early (agent/early.py)."""
        if self.assistant is not None:
            self.assistant.speculate(transcript)

    def touch(self) -> None:
        self.last_active = self.clock()

    def idle_for(self, now: float | None = None) -> float:
        if self.turn_active:
            return 0.0
        return (self.clock() if now is None else now) - self.last_active

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.cancel()
        for task in list(self._tasks):
            task.cancel()
        for name, part in (("assistant", self.assistant), ("browser", self.browser)):
            if part is None:
                continue
            try:
                await asyncio.wait_for(maybe_await(part.close()), timeout=15.0)
            except Exception as exc:  # closing must go on for the other parts
                log.warning("session %s: closing the %s failed: %s", self.id[:8], name,
                            one_sentence(exc))
        self.assistant = self.browser = None
        log.info("session %s closed", self.id[:8])

    # ------------------------------------------------------------------ mic
    def _on_vad(self, ev: TurnEvent) -> None:
        """Segmenter events: show them, count them, and barge in on a running turn."""
        self.fanout.emit(ev)
        self.view.apply(ev)
        if ev.type == "vad-start" and self.turn_active:
            self.barge_in()

    def barge_in(self) -> None:
        """The user started speaking during a turn: stop it (playback stops in the page)."""
        self.barge_count += 1
        log.info("session %s: barge-in", self.id[:8])
        self._spawn(self.cancel())

    async def on_mic(self, rate: int, samples: Any) -> int:
        """One microphone chunk; returns how many utterances it completed."""
        self.touch()
        if self.mic is None:
            return 0
        async with self._mic_lock:  # chunk handlers may overlap: keep the stream in order
            utts = await self.mic.feed(rate, samples)
        return self._queue(utts)

    async def on_mic_stop(self) -> int:
        if self.mic is None:
            return 0
        async with self._mic_lock:
            return self._queue(await self.mic.stop())

    def _queue(self, utts: list[Utterance]) -> int:
        for utt in utts:
            log.info("session %s: utterance of %.1f s queued", self.id[:8], utt.audio.duration_s)
            self.pending.append(utt)
            self.utt_count += 1
        return len(utts)

    # ------------------------------------------------------------------ turns
    async def cancel(self) -> None:
        if self.assistant is not None and self.turn_active:
            try:
                await maybe_await(self.assistant.cancel())
            except Exception as exc:
                log.warning("cancel failed: %s", one_sentence(exc))

    def _rate_ok(self) -> bool:
        """At most ``turn_rate_per_minute`` turns started in any 60 s (per session)."""
        now = self.clock()
        while self._turn_times and now - self._turn_times[0] >= 60.0:
            self._turn_times.popleft()
        if len(self._turn_times) >= self.settings.turn_rate_per_minute:
            log.info("session %s: turn refused by the rate limit", self.id[:8])
            return False
        self._turn_times.append(now)
        return True

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def turn(self, kind: str, payload: str | Utterance) -> AsyncIterator[Frame]:
        """Run one turn (``kind`` "text" with a string, "voice" with an Utterance).

        Yields a Frame whenever the page should change. Errors become one sentence in the
        chat; the session stays usable.
        """
        self.touch()
        if not self._rate_ok():
            msg = "You're sending commands too fast; please wait a few seconds."
            self.view.notice(msg)
            self.last = TurnResult(errors=[msg])
            yield Frame(chat=True)
            return
        if self.turn_active:
            await self.cancel()
        try:
            await asyncio.wait_for(self._lock.acquire(), timeout=PREEMPT_TIMEOUT_S)
        except TimeoutError:
            self.view.notice("I'm still finishing the last request; please try again.")
            yield Frame(chat=True)
            return
        result = TurnResult()
        out = AudioOut()
        self.turn_active = True
        try:
            if kind == "text":
                assert isinstance(payload, str)
                result.summary = TurnSummary(transcript=payload)
                self.view.user_said(payload)
            self.view.set_status("thinking")
            yield Frame(chat=kind == "text", status=True)
            if self.assistant is None:
                msg = self.stages.notes.get("assistant", "The assistant is not available.")
                self.view.notice(msg)
                result.errors.append(safe_message(msg))
                yield Frame(chat=True)
                return
            async for frame in self._events(kind, payload, result, out):
                yield frame
        except SaysoError as exc:
            self.view.notice(exc.one_line())
            result.errors.append(safe_message(exc.one_line()))
            yield Frame(chat=True)
        except Exception:
            log.exception("session %s: turn failed", self.id[:8])
            msg = "Something went wrong with that request; please try again."
            self.view.notice(msg)
            result.errors.append(msg)
            yield Frame(chat=True)
        finally:
            self.turn_active = False
            self.view.set_status(self.view.idle_status())
            result.audio = out.whole()
            self.last = result
            self.touch()
            self._lock.release()
        if self._shot is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._shot), timeout=5.0)
        yield Frame(chat=True, status=True, latency=True, browser=True)

    async def _events(self, kind: str, payload: str | Utterance, result: TurnResult,
                      out: AudioOut) -> AsyncIterator[Frame]:
        assert self.assistant is not None
        if kind == "text":
            stream = self.assistant.text_turn(str(payload))
        else:
            assert isinstance(payload, Utterance)
            stream = self.assistant.voice_turn(payload)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for ev in stream:
                up = self.view.apply(ev)
                if ev.type == "error":
                    result.errors.append(safe_message(ev.get(ErrorEvent).message))
                elif (summary := ev.summary) is not None:
                    result.summary = summary
                if ev.type == "browser-state":
                    self._screenshot()
                frame = Frame(chat=up.chat, status=up.status, latency=up.latency,
                              browser=up.browser or self._shot_fresh())
                if up.audio is not None:
                    frame.audio = out.wav(up.audio)
                if frame.audio or frame.chat or frame.status or frame.latency or frame.browser:
                    yield frame

    # ------------------------------------------------------------------ browser view
    def _screenshot(self) -> None:
        if self.browser is None or (self._shot is not None and not self._shot.done()):
            return
        self._shot_seen = False
        self._shot = asyncio.ensure_future(self._take_screenshot())

    async def _take_screenshot(self) -> None:
        assert self.browser is not None
        try:
            shot = await asyncio.wait_for(self.browser.screenshot(), timeout=10.0)
        except Exception as exc:
            log.info("screenshot failed: %s", one_sentence(exc))
            return
        self.view.browser.screenshot = shot

    def _shot_fresh(self) -> bool:
        """True once, when a screenshot taken in the background has arrived."""
        if self._shot is not None and self._shot.done() and not self._shot_seen:
            self._shot_seen = True
            return True
        return False

    # ------------------------------------------------------------------ settings
    async def apply_settings(self, changes: dict[str, Any]) -> str:
        """Apply page settings to this session; returns one sentence saying what happened."""
        changes = {k: v for k, v in changes.items()
                   if k in SESSION_FIELDS and v is not None and getattr(self.settings, k) != v}
        if not changes:
            return "Nothing changed."
        merged = {**self.settings.model_dump(), **changes}
        new = load_settings(**merged)  # ConfigError: one sentence, shown by the caller
        old, self.settings = self.settings, new
        if {"browser_headless", "search_engine"} & changes.keys() and self.browser is not None:
            with contextlib.suppress(Exception):
                await self.browser.close()
            self.browser = self.stages.new_browser(new)
        if _ASSISTANT_FIELDS & changes.keys() or "browser_headless" in changes:
            await self.cancel()
            async with self._lock:
                previous = self.assistant
                assistant = await self.stages.new_assistant(new, self.browser, self.assistant_sink)
                if assistant is None:
                    self.settings = old
                    return self.stages.notes.get("assistant", "Those settings did not work.")
                self.assistant = assistant
            if previous is not None:  # its turn is over; its browser lives on in the new one
                with contextlib.suppress(Exception):
                    await maybe_await(previous.cancel())
        if "hands_free" in changes:
            self._new_mic()
            self.view.set_status(self.view.idle_status())
        return "Settings applied: " + ", ".join(sorted(changes)) + "."


class SessionManager:
    """Creates sessions on first use, caps their number, releases them on close or idle."""

    def __init__(self, settings: Settings, stages: Stages, *, sinks: tuple[EventSink, ...] = (),
                 on_count: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.stages = stages
        self.sinks = sinks
        self.on_count = on_count
        self.clock = clock
        self.sessions: dict[str, UiSession] = {}
        self._create_lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self.sessions)

    def peek(self, sid: str) -> UiSession | None:
        return self.sessions.get(sid)

    async def get(self, sid: str) -> UiSession:
        """The session of ``sid``, created if new; SessionLimitError when the app is full."""
        self._ensure_reaper()
        session = self.sessions.get(sid)
        if session is not None:
            session.touch()
            return session
        async with self._create_lock:
            session = self.sessions.get(sid)
            if session is not None:
                return session
            if len(self.sessions) >= self.settings.max_sessions:
                raise SessionLimitError(
                    f"sayso is busy: {len(self.sessions)} people are using it right now, "
                    "the most it serves at once.",
                    hint="Please try again in a few minutes.")
            await self.stages.ready()
            session = UiSession(sid, self.settings, self.stages, sinks=self.sinks,
                                clock=self.clock)
            self.sessions[sid] = session
            self._count()
            try:
                await session.open()
            except BaseException:
                self.sessions.pop(sid, None)
                self._count()
                raise
            log.info("session %s opened (%d active)", sid[:8], len(self.sessions))
            return session

    async def release(self, sid: str, reason: str = "page closed") -> bool:
        session = self.sessions.pop(sid, None)
        if session is None:
            return False
        self._count()
        log.info("session %s released: %s", sid[:8], reason)
        await session.close()
        return True

    async def reap_idle(self, now: float | None = None) -> list[str]:
        limit = self.settings.session_idle_timeout_s
        stale = [sid for sid, s in self.sessions.items() if s.idle_for(now) >= limit]
        for sid in stale:
            await self.release(sid, reason="idle")
        return stale

    async def close_all(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for sid in list(self.sessions):
            await self.release(sid, reason="app stopping")

    def _count(self) -> None:
        if self.on_count is not None:
            try:
                self.on_count(len(self.sessions))
            except Exception:
                log.exception("session count hook failed")

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap_loop())

    async def _reap_loop(self) -> None:
        every = min(REAP_EVERY_S, max(1.0, self.settings.session_idle_timeout_s / 4))
        while True:
            await asyncio.sleep(every)
            try:
                await self.reap_idle()
            except Exception:
                log.exception("reaping idle sessions failed")
