"""Live voice: microphone frames in and speech out over one WebSocket beside the Gradio page.

The page (``js/live.js``) captures 20 ms frames of the microphone with an AudioWorklet (browser
echo cancellation, noise suppression and gain control on) and sends them as binary messages
(int16 mono PCM at the page's audio rate) to ``/sayso/live``. Here they feed the session's
segmenter (which resamples to 16 kHz); its utterances run as turns of that session. Every
TurnEvent of the session goes back as a JSON message (``{"type", "turn", "t", "data"}``: vad,
partial transcripts, replies, chips, browser state), and each ``audio`` event as a binary
message: 8 bytes of turn id, then int16 mono PCM resampled to the page's rate, which a player
worklet queues. When the user speaks over a reply, ``vad-start`` reaches the page, which
flushes its queue at once, while the session cancels the turn (barge-in).

Security: the socket must come from the page's own origin (the Origin header matches Host),
and its first message must carry the token the page received from its Gradio session on load
(issued only through Gradio, so only after Gradio's login, when one is set). The token binds
the socket to that session; it dies with the session. Frames, JSON messages and the audio rate
are bounded; a client that breaks the bounds is disconnected with one sentence.

The Gradio microphone path stays as the fallback: the page uses it when the socket fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import time
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import soxr

from sayso.audio.convert import to_int16
from sayso.errors import SaysoError
from sayso.events import TurnEvent
from sayso.types import AudioChunk
from sayso.ui.sessions import SessionLimitError, SessionManager, UiSession

log = logging.getLogger(__name__)

PATH = "/sayso/live"
JS_PATH = "/sayso/js"
JS_FILES = ("live.js", "live-worklet.js")
HELLO_TIMEOUT_S = 10.0
MAX_FRAME_BYTES = 8192  # one binary frame: <= 4096 samples (85 ms at 48 kHz)
MAX_TEXT_BYTES = 4096
AUDIO_BURST_S = 10.0  # audio arriving at once (the server's loop may stall under load)
AUDIO_RATE_X = 2.0  # sustained audio seconds per second of wall time
MAX_MSGS_PER_S = 200.0
MSG_BURST = 400.0
RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
MAX_EVENT_BYTES = 16384
OUT_QUEUE = 512  # events and audio waiting for a slow socket, then the socket is dropped
TURN_ID_BYTES = 8
#: close codes: 1008 policy violation (origin, token, bounds), 1013 try again later (busy)
POLICY, BUSY = 1008, 1013


def same_origin(headers: Any) -> bool:
    """True when the Origin header names the host the request was sent to."""
    origin = headers.get("origin") or ""
    host = (headers.get("host") or "").lower()
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host


class Bucket:
    """A token bucket: ``take(n)`` is False when more than ``rate``/s (plus ``burst``) is used."""

    def __init__(self, rate: float, burst: float, clock: Any = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.level = burst
        self.t = clock()

    def take(self, n: float) -> bool:
        now = self.clock()
        self.level = min(self.burst, self.level + (now - self.t) * self.rate)
        self.t = now
        if n > self.level:
            return False
        self.level -= n
        return True


def _plain(value: Any) -> Any:
    """JSON for what json cannot write: payloads and records as objects, the rest as text."""
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def event_json(ev: TurnEvent) -> str:
    """A TurnEvent as the page's JSON message (its payload's fields under ``data``)."""
    data = {k: v for k, v in (ev.data or {}).items() if k != "chunk"}
    text = json.dumps({"type": ev.type, "turn": ev.turn_id, "t": round(ev.t_ms, 1), "data": data},
                      default=_plain, ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_EVENT_BYTES:  # e.g. a huge tab list: the type is enough
        text = json.dumps({"type": ev.type, "turn": ev.turn_id, "t": round(ev.t_ms, 1),
                           "data": {"truncated": True}})
    return text


def audio_message(turn_id: str, chunk: AudioChunk, rate: int) -> bytes:
    """An ``audio`` event as the page's binary message: turn id, then int16 PCM at ``rate``."""
    samples = np.asarray(chunk.samples)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    if samples.dtype == np.int16:
        samples = samples.astype(np.float32) / 32768.0
    if int(chunk.rate) != rate:
        samples = soxr.resample(samples.astype(np.float32), int(chunk.rate), rate)
    head = turn_id.encode("ascii", "replace")[:TURN_ID_BYTES].ljust(TURN_ID_BYTES, b" ")
    return head + to_int16(samples).astype("<i2").tobytes()


class LiveHub:
    """Issues page tokens, serves the worklet scripts and runs one socket per session."""

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager
        self._tokens: dict[str, str] = {}  # token -> session id
        self._sockets: dict[str, Any] = {}  # session id -> its socket

    # ------------------------------------------------------------------ tokens
    def issue(self, sid: str) -> str:
        for token, owner in list(self._tokens.items()):  # drop tokens of ended sessions
            if owner == sid or self.manager.peek(owner) is None:
                del self._tokens[token]
        token = secrets.token_urlsafe(24)
        self._tokens[token] = sid
        return token

    def session_for(self, token: Any) -> UiSession | None:
        if not isinstance(token, str) or len(token) > 64:
            return None
        sid = self._tokens.get(token)
        session = self.manager.peek(sid) if sid else None
        return None if session is None or session.closed else session

    async def on_load(self, request: Any) -> str:
        """Gradio ``load`` handler: the token of the caller's session ("" when it has none)."""
        sid = getattr(request, "session_hash", None) or ""
        if not sid:
            return ""
        try:
            await self.manager.get(sid)
        except SessionLimitError:
            return ""
        return self.issue(sid)

    # ------------------------------------------------------------------ routes
    def mount(self, app: Any) -> None:
        """Add the socket and the scripts to Gradio's FastAPI app (first, before catch-alls)."""
        from starlette.responses import Response
        from starlette.routing import Route, WebSocketRoute

        def script(request: Any) -> Response:
            name = request.path_params["name"]
            if name not in JS_FILES:
                return Response("not found", status_code=404, media_type="text/plain")
            body = resources.files("sayso.ui").joinpath("js", name).read_bytes()
            return Response(body, media_type="text/javascript",
                            headers={"Cache-Control": "no-cache",
                                     "X-Content-Type-Options": "nosniff"})

        app.router.routes.insert(0, WebSocketRoute(PATH, self.endpoint))
        app.router.routes.insert(0, Route(JS_PATH + "/{name}", script, methods=["GET"]))

    async def endpoint(self, ws: Any) -> None:
        if not same_origin(ws.headers):
            log.info("live socket refused: not from the page's origin")
            await ws.close(code=POLICY)  # before accept: the handshake is refused (403)
            return
        await ws.accept()
        try:
            hello = await asyncio.wait_for(ws.receive_text(), timeout=HELLO_TIMEOUT_S)
            msg = json.loads(hello) if len(hello) <= MAX_TEXT_BYTES else {}
        except (TimeoutError, ValueError, KeyError, RuntimeError):
            msg = {}
        session = self.session_for(msg.get("token")) if isinstance(msg, dict) else None
        rate = msg.get("rate") if isinstance(msg, dict) else None
        if session is None or rate not in RATES:
            log.info("live socket refused: no session for its token")
            await _close(ws, POLICY, "This page's session has ended; reload the page.")
            return
        old = self._sockets.get(session.id)
        if old is not None:  # one live socket per session: the newest wins
            await _close(old, POLICY, "Live voice moved to another connection.")
        self._sockets[session.id] = ws
        try:
            await LiveSocket(ws, session, int(rate)).run()
        finally:
            if self._sockets.get(session.id) is ws:
                del self._sockets[session.id]


async def _close(ws: Any, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(json.dumps({"type": "closed", "data": {"message": reason}}))
        await ws.close(code=code, reason=reason[:120])


class LiveSocket:
    """One page's live connection to its session."""

    def __init__(self, ws: Any, session: UiSession, rate: int) -> None:
        self.ws = ws
        self.session = session
        self.rate = rate
        self.out: asyncio.Queue[str | bytes | None] = asyncio.Queue(maxsize=OUT_QUEUE)
        self.audio = Bucket(AUDIO_RATE_X * rate, AUDIO_BURST_S * rate)
        self.msgs = Bucket(MAX_MSGS_PER_S, MSG_BURST)
        self._runner: asyncio.Task[None] | None = None
        self._overflow = False

    # ------------------------------------------------------------------ events out
    def sink(self, ev: TurnEvent) -> None:
        """The session's events (called in the loop, from the turn): queue them for the page."""
        if ev.type == "audio":
            chunk = (ev.data or {}).get("chunk")
            if isinstance(chunk, AudioChunk):
                self._put(audio_message(ev.turn_id, chunk, self.rate))
            return
        self._put(event_json(ev))

    def _put(self, item: str | bytes) -> None:
        try:
            self.out.put_nowait(item)
        except asyncio.QueueFull:  # the page stopped reading: drop the socket, not the turn
            self._overflow = True

    async def _send_loop(self) -> None:
        while (item := await self.out.get()) is not None:
            if isinstance(item, bytes):
                await self.ws.send_bytes(item)
            else:
                await self.ws.send_text(item)

    def _send_state(self, kind: str, **data: Any) -> None:
        self._put(json.dumps({"type": kind, "data": data}))

    # ------------------------------------------------------------------ frames in
    async def run(self) -> None:
        s = self.session
        unsubscribe = s.fanout.subscribe(self.sink)
        if s.mic is not None:
            s.mic.reset()
        s.view.mic_on = True
        s.view.set_status(s.view.idle_status())
        sender = asyncio.create_task(self._send_loop(), name=f"sayso-live-send-{s.id[:8]}")
        self._send_state("ready", mic=s.mic is not None,
                         hands_free=bool(s.mic is not None and s.mic.hands_free),
                         notes=dict(s.stages.notes))
        log.info("session %s: live voice connected (%d Hz)", s.id[:8], self.rate)
        reason = "disconnected"
        try:
            reason = await self._receive_loop()
        finally:
            unsubscribe()
            s.view.mic_on = False
            if self._runner is not None and not self._runner.done():
                await s.cancel()
            with contextlib.suppress(asyncio.QueueFull):
                self.out.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender, timeout=2.0)
            sender.cancel()
            log.info("session %s: live voice closed (%s)", s.id[:8], reason)

    async def _receive_loop(self) -> str:
        s = self.session
        while True:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), timeout=1.0)
            except TimeoutError:
                msg = None
            if s.closed:
                await _close(self.ws, POLICY, "This page's session has ended; reload the page.")
                return "session ended"
            if self._overflow:
                await _close(self.ws, POLICY, "The page stopped reading live audio.")
                return "page too slow"
            if msg is None:
                continue
            if msg.get("type") == "websocket.disconnect":
                return "page left"
            if not self.msgs.take(1):
                await _close(self.ws, POLICY, "Too many messages; live voice stopped.")
                return "message rate"
            data, text = msg.get("bytes"), msg.get("text")
            if data is not None:
                problem = await self._on_frame(data)
            elif text is not None:
                problem = await self._on_text(text)
            else:
                problem = ""
            if problem:
                await _close(self.ws, POLICY, problem)
                return problem

    async def _on_frame(self, data: bytes) -> str:
        if len(data) > MAX_FRAME_BYTES or len(data) % 2:
            return "A microphone frame was too large; live voice stopped."
        n = len(data) // 2
        if not self.audio.take(n):
            return "Microphone audio arrived faster than real time; live voice stopped."
        if n == 0:
            return ""
        samples = np.frombuffer(data, dtype="<i2")
        try:
            queued = await self.session.on_mic(self.rate, samples)
        except SaysoError as exc:
            log.info("live frame refused: %s", exc.one_line())
            return exc.one_line()
        if queued:
            self._run_turns()
        return ""

    async def _on_text(self, text: str) -> str:
        if len(text) > MAX_TEXT_BYTES:
            return "A message was too large; live voice stopped."
        try:
            msg = json.loads(text)
        except ValueError:
            return "A message was not JSON; live voice stopped."
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "stop":  # the page's stop button or Escape
            self.session.pending.clear()
            await self.session.cancel()
        elif kind == "ping":
            self._send_state("pong", t=msg.get("t"))
        return ""

    # ------------------------------------------------------------------ turns
    def _run_turns(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._turns(),
                                               name=f"sayso-live-turns-{self.session.id[:8]}")

    async def _turns(self) -> None:
        s = self.session
        while s.pending and not s.closed:
            utt = s.pending.popleft()
            async for frame in s.turn("voice", utt):
                if frame.chat or frame.browser or frame.latency:
                    self._send_state("view")  # the page asks Gradio for the new chat and view
            self._send_state("view")  # the barge-in's own utterance, if any, runs next
