"""The live-voice socket beside the page: origin and session checks, bounds, events and audio
out (fakes of the assistant and the segmenter; the real page is in tests/integration)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from sayso.config import load_settings
from sayso.events import ActionRecord, TurnEvent, TurnSummary
from sayso.types import SAMPLE_RATE, AudioChunk, Utterance
from sayso.ui.live import (
    MAX_FRAME_BYTES,
    PATH,
    Bucket,
    LiveHub,
    audio_message,
    event_json,
    same_origin,
)
from sayso.ui.sessions import SessionManager
from sayso.ui.stages import Stages
from tests.unit.ui_fakes import FakeAssistant, FakeBrowser, tone

ORIGIN = {"origin": "http://testserver"}


class SinkingAssistant(FakeAssistant):
    """The fake assistant, also reporting its events to the session's sink (as the real one)."""

    def __init__(self, browser: FakeBrowser | None, sink: Any) -> None:
        super().__init__(browser)
        self.sink = sink

    async def _turn(self, tid: str, text: str | None) -> AsyncIterator[TurnEvent]:
        async for ev in super()._turn(tid, text):
            self.sink(ev)
            yield ev


class FiveFrameSegmenter:
    """Speech starts at the first frame and ends after five: one utterance per five frames."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.frames = 0

    @property
    def in_speech(self) -> bool:
        return self.frames > 0

    async def feed_async(self, chunk: AudioChunk) -> list[Utterance]:
        self.frames += 1
        if self.frames == 1:
            self.sink(TurnEvent("vad-start", "utt00001"))
        if self.frames < 5:
            return []
        self.frames = 0
        self.sink(TurnEvent("vad-end", "utt00001"))
        audio = np.zeros(SAMPLE_RATE // 2, np.float32)
        return [Utterance(audio=AudioChunk(samples=audio, rate=SAMPLE_RATE), start_ms=0.0,
                          end_ms=500.0, speech_ms=500.0, turn_id="utt00001")]

    async def flush_async(self) -> list[Utterance]:
        return []

    def reset(self) -> None:
        self.frames = 0


@pytest.fixture
def client() -> Iterator[tuple[TestClient, LiveHub]]:
    settings = load_settings(max_sessions=2)
    stages = Stages(settings,
                    assistant_factory=lambda s, b, sink: _async(SinkingAssistant(b, sink)),
                    browser_factory=lambda s: FakeBrowser(),
                    segmenter_factory=lambda **kw: FiveFrameSegmenter(kw["sink"]))
    hub = LiveHub(SessionManager(settings, stages))

    async def open_session(request: Any) -> PlainTextResponse:  # what the page's load does
        sid = request.query_params["sid"]
        return PlainTextResponse(await hub.on_load(SimpleNamespace(session_hash=sid)))

    async def release(request: Any) -> PlainTextResponse:
        await hub.manager.release(request.query_params["sid"])
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/open", open_session), Route("/release", release)])
    hub.mount(app)
    with TestClient(app) as c:
        yield c, hub


async def _async(value: Any) -> Any:
    return value


def hello(ws: Any, token: str, rate: int = 48000) -> dict[str, Any]:
    ws.send_text(json.dumps({"type": "hello", "token": token, "rate": rate}))
    return ws.receive_json()


def test_frames_become_a_turn_whose_events_and_audio_come_back(client) -> None:
    c, hub = client
    token = c.get("/open", params={"sid": "tab-a"}).text
    with c.websocket_connect(PATH, headers=ORIGIN) as ws:
        assert hello(ws, token)["type"] == "ready"
        for _ in range(5):
            ws.send_bytes(np.zeros(960, "<i2").tobytes())  # 20 ms at 48 kHz
        seen: list[str] = []
        audio: list[bytes] = []
        while "turn-end" not in seen:
            msg = ws.receive()
            if msg.get("bytes") is not None:
                audio.append(msg["bytes"])
            else:
                seen.append(json.loads(msg["text"])["type"])
        assert seen.index("vad-start") < seen.index("stt-end") < seen.index("turn-end")
        assert "tool-end" in seen and "view" in seen
        # two chunks (0.3 s at 22.05 and 16 kHz), each resampled to the page's 48 kHz
        assert [a[:8] for a in audio] == [b"utt00001"] * 2
        samples = np.frombuffer(audio[0][8:], "<i2")
        assert abs(len(samples) - int(0.3 * 48000)) < 50 and np.abs(samples).max() > 3000
    session = hub.manager.peek("tab-a")
    assert session is not None and session.last.transcript == "open the test page"


def test_another_origin_is_refused_at_the_handshake(client) -> None:
    c, _ = client
    for headers in ({"origin": "http://evil.example"}, {}):
        with pytest.raises(WebSocketDisconnect) as refused, \
                c.websocket_connect(PATH, headers=headers):
            pass
        assert refused.value.code == 1008


def test_a_forged_or_ended_session_token_is_refused(client) -> None:
    c, hub = client
    with c.websocket_connect(PATH, headers=ORIGIN) as ws:
        closed = hello(ws, "not-a-token")
        assert closed["type"] == "closed" and "reload the page" in closed["data"]["message"]
    token = c.get("/open", params={"sid": "tab-b"}).text
    c.get("/release", params={"sid": "tab-b"})  # the tab closed: its token dies with it
    assert hub.session_for(token) is None
    with c.websocket_connect(PATH, headers=ORIGIN) as ws:
        assert hello(ws, token)["type"] == "closed"


@pytest.mark.parametrize("frame,words", [
    (b"\x00" * (MAX_FRAME_BYTES + 2), "too large"),
    (b"\x00" * 4095 * 2, "faster than real time"),  # 85 ms frames, sent as fast as possible
])
def test_oversized_or_too_fast_audio_ends_the_socket_with_one_sentence(client, frame, words) -> None:
    c, _ = client
    token = c.get("/open", params={"sid": "tab-c"}).text
    with c.websocket_connect(PATH, headers=ORIGIN) as ws:
        hello(ws, token, rate=8000)
        for _ in range(400):
            ws.send_bytes(frame)
            msg = ws.receive_json() if words == "too large" else None
            if msg is not None:
                break
        else:
            msg = {}
            while msg.get("type") != "closed":  # skip the turns the frames made
                raw = ws.receive()
                msg = json.loads(raw["text"]) if raw.get("text") else {}
        assert msg["type"] == "closed" and words in msg["data"]["message"]


def test_same_origin_rule() -> None:
    assert same_origin({"origin": "http://127.0.0.1:7860", "host": "127.0.0.1:7860"})
    assert not same_origin({"origin": "http://127.0.0.1:7861", "host": "127.0.0.1:7860"})
    assert not same_origin({"origin": "null", "host": "127.0.0.1:7860"})
    assert not same_origin({"host": "127.0.0.1:7860"})


def test_bucket_allows_bursts_then_the_rate() -> None:
    now = [0.0]
    b = Bucket(rate=10.0, burst=5.0, clock=lambda: now[0])
    assert all(b.take(1) for _ in range(5)) and not b.take(1)
    now[0] = 0.5
    assert b.take(5) and not b.take(1)


def test_messages_for_the_page() -> None:
    ev = TurnEvent("tool-end", "abcd1234", data={"tool": "click", "ok": True, "obj": object()})
    msg = json.loads(event_json(ev))
    assert msg["type"] == "tool-end" and msg["turn"] == "abcd1234" and msg["data"]["ok"] is True
    assert isinstance(msg["data"]["obj"], str)  # unusable values become strings
    summary = TurnEvent("turn-end", "t", data=TurnSummary(
        transcript="click news", actions=(ActionRecord(tool="click", args={"text": "news"}, ok=True),)))
    sent = json.loads(event_json(summary))["data"]
    assert sent["transcript"] == "click news" and sent["actions"][0]["args"] == {"text": "news"}
    big = TurnEvent("browser-state", "t", data={"tabs": ["x" * 100] * 500})
    assert json.loads(event_json(big))["data"] == {"truncated": True}
    out = audio_message("abcd1234", tone(0.5, 22050), 44100)
    assert out[:8] == b"abcd1234" and len(out[8:]) // 2 == 22050
