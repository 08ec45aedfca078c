"""Live voice in the web app, for real: the Gradio app with the real models, a real headless
Chromium whose fake microphone speaks (the app's own TTS in a WAV), the page's AudioWorklets
and the WebSocket beside the page.

The microphone says, after a lead silence (Chromium drops the first seconds of the file):
"Okay, so please scroll down a little bit for me." then, after a pause longer than the turn, "Read the page." (a long reply), and
while that reply is still being read, "Stop." (a barge-in). The tests wait on what the page
logs (``window.saysoLive.log``), never on fixed times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sayso.config import load_settings
from sayso.testsite import TestSite
from sayso.ui.gradio_app import WebApp, build_app
from tests.integration.test_ui import WARM_TIMEOUT_S, free_port, speech, wait_until, write_wav

pytestmark = pytest.mark.slow

TURN_TIMEOUT_S = 150.0
RATE = 48000


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    with TestSite() as site:
        settings = load_settings(
            ui_port=free_port(), data_dir=tmp_path_factory.mktemp("live-data"),
            browser_allowlist=["127.0.0.1"], home_url=site.url("/"), max_sessions=3,
            llm_timeout_s=180)
        app = build_app(settings)
        app.launch(settings, block=False)
        try:
            # the LLM warms in the background; these tests time the voice path, not the start
            wait_until(lambda: app.stages.warmed and app.stages.llm_warm, WARM_TIMEOUT_S,
                       every=0.5, what="models to load")
            yield app
        finally:
            app.close()


@pytest.fixture(scope="module")
def mic_wav(web: WebApp, tmp_path_factory: pytest.TempPathFactory) -> Path:
    say = lambda text, after: speech(web, text, rate=RATE, before_s=0.0, after_s=after,  # noqa: E731
                                     peak=0.2)
    samples = np.concatenate([
        np.zeros(8 * RATE, np.int16),  # Chromium drops the first seconds of the file
        say("Okay, so please scroll down a little bit for me.", 12.0),  # long: partials land
        say("Read the page.", 9.0),  # its reply reads the page for much longer than that
        say("Stop.", 60.0),  # the file loops: a long silence before it comes round again
    ])
    return write_wav(tmp_path_factory.mktemp("live-mic") / "mic.wav", samples, RATE)


def chromium(wav: Path | None) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1400,1500", "--autoplay-policy=no-user-gesture-required",
            "--no-first-run", "--disable-background-networking"]
    args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    if wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={wav}")
    for arg in args:
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)
    return driver


def live_log(driver: Any) -> list[dict[str, Any]]:
    return driver.execute_script("return (window.saysoLive && window.saysoLive.log) || [];")


def first(log: list[dict[str, Any]], kind: str, after: float = -1.0, **match: Any) -> Any:
    return next((e for e in log if e["kind"] == kind and e["perf"] > after
                 and all(e.get(k) == v for k, v in match.items())), None)


@pytest.fixture(scope="module")
def page(web: WebApp, mic_wav: Path) -> Iterator[Any]:
    driver = chromium(mic_wav)
    try:
        driver.get(web.url)
        wait_until(lambda: driver.execute_script(
            "const t = document.querySelector('#sayso-live-token textarea');"
            "return !!(window.saysoLive && t && t.value);"), 60, what="the page and its token")
        driver.find_element("css selector", "#sayso-live-toggle").click()
        wait_until(lambda: first(live_log(driver), "ready"), 60, what="live voice to connect")
        yield driver
    finally:
        driver.quit()


def session_of(web: WebApp) -> Any:
    return next(iter(web.manager.sessions.values()))


def heard(driver: Any) -> str:
    """What the page logged, briefly (for failure messages)."""
    return "; ".join(f"{e['kind']}{' ' + e['text'] if e.get('text') else ''}"
                     for e in live_log(driver) if e["kind"] not in ("partial",))[-1500:]


def test_spoken_command_over_the_socket_acts_and_plays(web: WebApp, page: Any) -> None:
    said = wait_until(lambda: first(live_log(page), "transcript"), TURN_TIMEOUT_S,
                      what="the first transcript")
    assert "scroll" in said["text"].lower(), heard(page)
    played = wait_until(lambda: first(live_log(page), "play-start", turn=said["turn"]),
                        TURN_TIMEOUT_S, what="the reply to play in the page")
    assert played["perfAudio"] > said["perf"] - 1000  # the reply of this very turn sounded
    s = session_of(web)
    wait_until(lambda: s.last.actions, TURN_TIMEOUT_S, what="the action")
    assert s.last.actions[0]["tool"] == "scroll" and s.last.actions[0]["ok"]
    # the page's own chat caught up through Gradio (the socket asked it to refresh)
    wait_until(lambda: "scroll" in page.execute_script(
        "return document.querySelector('#sayso-chat').innerText.toLowerCase();"),
        60, what="the chat to show the spoken command")


def test_partial_transcripts_show_while_speaking(page: Any) -> None:
    log = wait_until(lambda: (lg := live_log(page)) and first(lg, "transcript") and lg,
                     TURN_TIMEOUT_S, what="a transcript")
    done = first(log, "transcript")
    start = first(log, "vad-start", turn=done["turn"])
    partials = [e for e in log if e["kind"] == "partial" and e["turn"] == done["turn"]]
    if not partials:  # the segmenter transcribes during speech only when the model keeps up
        pytest.skip("no partial transcript landed while speaking (the machine was too slow)")
    assert partials and start["perf"] <= partials[0]["perf"] <= done["perf"]
    words = lambda t: set(re.findall(r"[a-z']+", t.lower()))  # noqa: E731
    assert words(partials[-1]["text"]) & words(done["text"]), (partials, done)  # the words so far


def test_barge_in_stops_the_reply_in_the_page(web: WebApp, page: Any) -> None:
    read = wait_until(lambda: next((e for e in live_log(page) if e["kind"] == "transcript"
                                    and "read" in e["text"].lower()), None),
                      TURN_TIMEOUT_S * 2, what="'read the page' to be heard")
    reading = wait_until(lambda: first(live_log(page), "play-start", turn=read["turn"]),
                         TURN_TIMEOUT_S, what="the page to be read aloud")
    cut = wait_until(lambda: first(live_log(page), "flush", after=reading["perf"]),
                     TURN_TIMEOUT_S, what="speech over the reply to stop it")
    # the session cancels the turn, unless it had already sent all its speech (the page still
    # playing the queue)
    log = wait_until(lambda: (lg := live_log(page)) and (
        first(lg, "cancelled", turn=read["turn"]) or first(lg, "turn-end", turn=read["turn"])) and lg,
        60, what="the reply's turn to end or be cancelled")
    ended = first(log, "turn-end", turn=read["turn"])
    assert first(log, "cancelled", turn=read["turn"]) or ended["perf"] <= cut["perf"]
    onset = [e for e in log if e["kind"] == "speech-start" and reading["perf"] < e["perf"] <= cut["perf"]]
    assert onset, json.dumps(log[-30:])
    assert cut["reason"] == "barge-in" and cut["perf"] - onset[-1]["perf"] < 3000
    # the output went silent at the flush (or was already, waiting for the next sentence),
    # and nothing of the cut reply sounded after it
    flushed = first(log, "flushed", after=cut["perf"] - 1)
    assert flushed is None or flushed["perf"] - cut["perf"] < 500
    assert not first(log, "play-start", after=cut["perf"], turn=read["turn"])


def test_socket_from_another_origin_or_without_a_session_is_refused(web: WebApp) -> None:
    import websocket  # websocket-client

    url = web.url.replace("http://", "ws://").rstrip("/") + "/sayso/live"
    host = web.url.split("//", 1)[1].rstrip("/")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, origin="http://evil.example", timeout=10)
    assert refused.value.status_code == 403  # refused at the handshake
    ws = websocket.create_connection(url, origin=f"http://{host}", timeout=10)
    try:
        ws.send(json.dumps({"type": "hello", "token": "forged", "rate": 48000}))
        closed = json.loads(ws.recv())
        assert closed["type"] == "closed" and "session" in closed["data"]["message"]
        try:  # the server closed the socket: nothing follows
            rest = ws.recv()
        except websocket.WebSocketConnectionClosedException:
            rest = ""
        assert rest == "" and not ws.connected
    finally:
        ws.close()


def test_when_the_socket_fails_the_page_falls_back_to_the_record_path(web: WebApp) -> None:
    driver = chromium(None)
    try:
        driver.get(web.url)
        wait_until(lambda: driver.execute_script(
            "const t = document.querySelector('#sayso-live-token textarea');"
            "return !!(window.saysoLive && t && t.value);"), 60, what="the page and its token")
        driver.execute_script("""  // a network that refuses the socket
            window.WebSocket = function () {
              const s = { readyState: 3, send() {}, close() {} };
              setTimeout(() => s.onclose && s.onclose({ code: 1006 }), 20);
              return s;
            };""")
        driver.find_element("css selector", "#sayso-live-toggle").click()
        wait_until(lambda: first(live_log(driver), "fallback"), 60, what="the fallback")
        state = driver.find_element("css selector", "#sayso-live-state").text
        assert "Record" in state and "could not connect" in state
        # Gradio's microphone stream runs now: its button offers to stop the recording
        wait_until(lambda: driver.execute_script(
            "return Array.from(document.querySelectorAll('#sayso-mic button'))"
            ".some((b) => /stop/i.test(b.textContent || ''));"),
            60, what="the Record path to be recording")
    finally:
        driver.quit()
