"""The web app, for real: the Gradio server on a free port with the real models, real
Chromium sessions driven by the assistant against the local test site, a real headless
Chromium as the user's browser (Selenium, with a fake microphone fed from a WAV), and
``gradio_client`` as a program would use it.

One app for the whole module (models load once). The page tests write screenshots of the app
mid-conversation to ``tests/artifacts/ui-light.png`` and ``tests/artifacts/ui-dark.png``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from sayso.audio.convert import convert, to_int16
from sayso.config import load_settings
from sayso.testsite import TestSite
from sayso.ui.gradio_app import WebApp, build_app

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WARM_TIMEOUT_S = 420.0
TURN_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float = TURN_TIMEOUT_S, every: float = 0.25,
               what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@pytest.fixture(scope="module")
def site() -> Iterator[TestSite]:
    with TestSite() as s:
        yield s


@pytest.fixture(scope="module")
def web(site: TestSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    settings = load_settings(
        ui_port=free_port(), data_dir=tmp_path_factory.mktemp("ui-data"),
        browser_allowlist=["127.0.0.1"], home_url=site.url("/"), max_sessions=5,
        llm_timeout_s=180, max_upload_mb=30, max_upload_s=60)
    app = build_app(settings)
    app.launch(settings, block=False)
    try:
        wait_until(lambda: app.stages.warmed and app.stages.llm_warm, WARM_TIMEOUT_S, every=0.5,
                   what="models to load")  # the LLM warms in the background
        yield app
    finally:
        sessions = list(app.manager.sessions.values())
        app.close()
        wait_until(lambda: not app.manager.sessions, 60, what="sessions to close")
        assert all(s.browser is None for s in sessions)  # every session's browser was closed


def speech(web: WebApp, text: str, *, rate: int = 16000, before_s: float = 0.3,
           after_s: float = 0.6, peak: float = 0.5) -> np.ndarray:
    """``text`` spoken by the app's own (real) TTS, as int16 at ``rate`` with silence around."""
    tts = web.stages.shared("tts")
    assert tts is not None, "the TTS did not load"
    chunks = tts.synthesize_sync(text)
    audio = np.concatenate([convert(c, rate).samples for c in chunks])
    audio *= peak / max(float(np.abs(audio).max()), 1e-6)
    pad = lambda s: np.zeros(int(s * rate), np.float32)  # noqa: E731
    return to_int16(np.concatenate([pad(before_s), audio, pad(after_s)]))


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    sf.write(path, samples, rate, subtype="PCM_16")
    return path


# ------------------------------------------------------------------------ the page (Selenium)
@pytest.fixture(scope="module")
def mic_wav(web: WebApp, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone says, once: a command, then a long silence (Chromium loops it)."""
    # quiet (Chromium's capture applies automatic gain), then a silence longer than any turn
    samples = speech(web, "Go back.", rate=48000, before_s=5.0, after_s=40.0, peak=0.2)
    return write_wav(tmp_path_factory.mktemp("mic") / "mic.wav", samples, 48000)


@pytest.fixture(scope="module")
def page(web: WebApp, mic_wav: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1700", "--autoplay-policy=no-user-gesture-required",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic_wav}", "--no-first-run",
                "--disable-background-networking"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)
    try:
        driver.get(web.url)
        wait_until(lambda: driver.find_elements("css selector", "#sayso-input textarea"), 60,
                   what="the page")
        wait_until(lambda: len(web.manager) >= 1, 60, what="the page's session")
        yield driver
    finally:
        driver.quit()


def chat_text(driver: Any) -> str:
    return driver.execute_script(
        "const c = document.querySelector('#sayso-chat'); return c ? c.innerText : '';")


def browser_view(driver: Any) -> dict[str, str]:
    return driver.execute_script("""
        const v = document.querySelector('#sayso-browser');
        const img = v && v.querySelector('img.sayso-shot');
        const url = v && v.querySelector('.sayso-url');
        return {url: url ? url.textContent : '', alt: img ? img.alt : '',
                src: img ? img.src.slice(0, 30) : ''};""")


def type_command(driver: Any, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element("css selector", "#sayso-input textarea")
    box.click()
    box.send_keys(text, Keys.ENTER)


# colours as the page computes them, normalised to RGBA bytes by a canvas (any CSS colour syntax);
# waits for running CSS transitions (a theme switch fades colours) before reading
CONTROL_COLOURS_JS = """
const ids = arguments[0], done = arguments[arguments.length - 1];
const ctx = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
const rgba = (c) => { ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = 'rgba(0,0,0,0)'; ctx.fillStyle = c;
                      ctx.fillRect(0, 0, 1, 1); return Array.from(ctx.getImageData(0, 0, 1, 1).data); };
const transitions = document.getAnimations().filter((a) => a instanceof CSSTransition);
Promise.all(transitions.map((a) => a.finished.catch(() => null))).then(() => {
  const out = {};
  for (const sel of ids) {
    const el = document.querySelector(sel), cs = getComputedStyle(el);
    const behind = [];
    for (let p = el.parentElement; p; p = p.parentElement) behind.push(rgba(getComputedStyle(p).backgroundColor));
    const text = sel.endsWith('textarea') ? getComputedStyle(el, '::placeholder').color : cs.color;
    out[sel] = {text: rgba(text), fill: rgba(cs.backgroundColor), edge: rgba(cs.borderTopColor),
                edge_px: parseFloat(cs.borderTopWidth), opacity: parseFloat(cs.opacity), behind};
  }
  done(out);
});
"""
CONTROLS = ("#sayso-theme", "#sayso-stop", "#sayso-send", "#sayso-input textarea")


def _over(top: list[int], under: tuple[float, float, float]) -> tuple[float, float, float]:
    a = top[3] / 255
    return tuple(c * a + u * (1 - a) for c, u in zip(top[:3], under, strict=True))  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    lin = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio of two opaque colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def control_contrast(driver: Any) -> dict[str, tuple[float, float]]:
    """For each control: (text on its fill, its edge against the page behind it), not hovered."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).move_to_element(driver.find_element("css selector", "#sayso-title")).perform()
    raw = driver.execute_async_script(CONTROL_COLOURS_JS, list(CONTROLS))
    out = {}
    for sel, c in raw.items():
        page: tuple[float, float, float] = (255.0, 255.0, 255.0)  # the canvas under <html>
        for layer in reversed(c["behind"]):
            page = _over(layer, page)
        fill = _over(c["fill"], page)
        text = _over(c["text"], fill)
        edge = max(contrast(fill, page), contrast(_over(c["edge"], page), page) if c["edge_px"] >= 1 else 1.0)
        assert c["opacity"] == 1, f"{sel} is translucent (looks disabled)"
        out[sel] = (round(contrast(text, fill), 2), round(edge, 2))
    return out


def test_page_is_labelled_and_keyboard_ready(page: Any) -> None:
    assert page.title.startswith("sayso")
    labels = page.execute_script("""
        return Array.from(document.querySelectorAll('label, [aria-label], h1'))
            .map(e => (e.getAttribute('aria-label') || e.textContent || '').trim())
            .filter(Boolean).join(' | ');""")
    for want in ("Type a command", "Microphone", "Or send a recording", "Spoken reply",
                 "Browser view", "Latency of the last turn", "Conversation"):
        assert want in labels
    assert page.find_element("css selector", ".sayso-status[role=status][aria-live=polite]")
    # the command box has the focus on load: typing works without a mouse
    assert page.execute_script("return document.activeElement.tagName") == "TEXTAREA"


def test_typed_command_drives_the_browser_and_speaks(web: WebApp, page: Any) -> None:
    type_command(page, "click on about us")
    wait_until(lambda: "about" in browser_view(page)["url"], what="the browser view to show /about")
    view = wait_until(lambda: (v := browser_view(page))["src"] and v, what="a screenshot")
    assert view["src"].startswith("data:image/jpeg;base64") and "About" in view["alt"]
    text = wait_until(lambda: (t := chat_text(page)) and "clicked" in t and t, what="the chip")
    assert "click on about us" in text and "clicked 'about us'" in text.lower()
    played = wait_until(lambda: page.execute_script("""
        const a = document.querySelector('#sayso-reply audio');
        return a && a.src && a.duration > 0.3 && (a.currentTime > 0 || !a.paused)
            ? [a.duration, a.currentTime] : null;"""), what="the reply to play")
    assert played[0] > 0.3  # seconds of speech reached the page's audio element
    latency = page.find_element("css selector", "#sayso-latency").text
    assert "first audio" in latency


def test_hands_free_voice_turn_from_the_microphone(web: WebApp, page: Any) -> None:
    """The fake microphone says 'Go back.': no button but Record, and the turn happens."""
    assert "about" in browser_view(page)["url"]  # where the typed command left the browser
    mic_buttons = page.find_elements("css selector", "#sayso-mic button")
    record = next(b for b in mic_buttons if "record" in (b.text or "").lower())
    record.click()
    try:
        try:
            wait_until(lambda: "went back" in chat_text(page), 150,
                       what="the spoken command to go back")
        except AssertionError as exc:
            s = next(iter(web.manager.sessions.values()))
            raise AssertionError(f"{exc}; the chat shows: {chat_text(page)!r}; "
                                 f"{s.utt_count} utterances heard") from None
        wait_until(lambda: "about" not in browser_view(page)["url"], what="the home page")
        assert "go back" in chat_text(page).lower()  # the transcript is in the chat
        latency = wait_until(lambda: "end of speech" in (t := page.find_element(
            "css selector", "#sayso-latency").text) and t, what="the voice latency readout")
        assert "transcript" in latency and "first audio" in latency
    finally:
        stop = [b for b in page.find_elements("css selector", "#sayso-mic button")
                if "stop" in (b.text or "").lower()]
        if stop:
            stop[0].click()


def test_screenshots_light_and_dark_mid_conversation(page: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    type_command(page, "click on news")
    wait_until(lambda: "news" in browser_view(page)["url"], what="the news page")
    wait_until(lambda: page.execute_script(
        "return document.querySelector('#sayso-status').innerText.trim()") in ("Ready", "Listening"),
        what="the turn to end")
    page.execute_script("document.body.classList.remove('dark'); window.scrollTo(0, 0);")
    ratios = {"light": control_contrast(page)}  # first: it moves the pointer off the controls
    light = ARTIFACTS / "ui-light.png"
    page.save_screenshot(str(light))
    page.find_element("css selector", "#sayso-theme").click()  # the page's own toggle
    assert page.execute_script("return document.body.classList.contains('dark')")
    ratios["dark"] = control_contrast(page)
    dark = ARTIFACTS / "ui-dark.png"
    page.save_screenshot(str(dark))
    # WCAG AA: text 4.5:1 on the control; the control's edge (fill or border) 3:1 against the page,
    # so Stop and Light/dark never look like disabled grey-on-grey
    for theme, found in ratios.items():
        for sel, (text, edge) in found.items():
            assert text >= 4.5, f"{theme}: text of {sel} has contrast {text}:1 ({ratios})"
            assert edge >= 3.0, f"{theme}: {sel} barely stands out from the page ({edge}:1, {ratios})"
    for shot in (light, dark):
        assert shot.stat().st_size > 20_000
    bg = page.execute_script(
        "return getComputedStyle(document.body).getPropertyValue('--sayso-bg').trim()")
    assert bg == "#0e1116"  # the dark theme's own palette is in force


def test_closing_the_tab_releases_its_session_and_browser(web: WebApp, page: Any) -> None:
    main = page.current_window_handle
    before = set(web.manager.sessions)
    page.switch_to.new_window("tab")
    page.get(web.url)
    new = wait_until(lambda: set(web.manager.sessions) - before, 60, what="a second session")
    sid = next(iter(new))
    session = web.manager.sessions[sid]
    assert session.browser is not None
    page.close()
    page.switch_to.window(main)
    # the release drops the session first, then quits its browser (which takes a moment)
    wait_until(lambda: sid not in web.manager.sessions and session.browser is None, 60,
               what="the closed tab's release")
    assert session.closed and session.browser is None
    assert before <= set(web.manager.sessions)  # the first tab's session lives on


# ------------------------------------------------------------------------ the API (gradio_client)
def client(web: WebApp) -> Any:
    from gradio_client import Client

    return Client(web.url, verbose=False)


def test_voice_api_returns_transcript_reply_and_audio(web: WebApp, tmp_path: Path) -> None:
    from gradio_client import handle_file

    wav = write_wav(tmp_path / "cmd.wav", speech(web, "Click on news."))
    result, audio = client(web).predict(handle_file(str(wav)), api_name="/voice")
    assert "news" in result["transcript"].lower()
    assert result["actions"] and result["actions"][0]["tool"] == "click" and result["actions"][0]["ok"]
    assert result["reply"] and "news" in result["browser"]["url"]
    assert result["timings_ms"]["first_audio"] > 0
    data, rate = sf.read(audio, dtype="int16")
    assert rate >= 16000 and len(data) / rate > 0.3 and np.abs(data).max() > 1000


def test_two_clients_do_not_see_each_other(web: WebApp) -> None:
    a, b = client(web), client(web)
    ra, _ = a.predict("click on pricing", api_name="/text")
    rb, _ = b.predict("click on log in", api_name="/text")
    assert "pricing" in ra["browser"]["url"] and "login" in rb["browser"]["url"]
    ra2, _ = a.predict("go back", api_name="/text")
    assert "pricing" not in ra2["browser"]["url"]  # A went back; B's page did not move
    assert "login" in b.predict("", api_name="/text")[0].get("browser", {}).get("url", "login")
    sa = web.manager.sessions[a.session_hash]
    sb = web.manager.sessions[b.session_hash]
    assert sa.browser is not sb.browser
    assert set(sa.browser.owned_pids()).isdisjoint(sb.browser.owned_pids())
    chat_a, chat_b = str(sa.view.messages()), str(sb.view.messages())
    assert "pricing" in chat_a and "pricing" not in chat_b
    assert "log in" in chat_b and "log in" not in chat_a


def test_bad_audio_gets_one_clear_sentence_and_the_session_lives(web: WebApp, tmp_path: Path) -> None:
    from gradio_client import handle_file

    c = client(web)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    silence = write_wav(tmp_path / "silence.wav", np.zeros(32000, np.int16))
    long = write_wav(tmp_path / "long.wav", (np.random.default_rng(0).normal(0, 300, 16000 * 600))
                     .astype(np.int16))
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(256)) * 20)
    expected = {empty: "empty", silence: "didn't hear any speech", long: "limit is 60 s",
                corrupt: "not audio sayso can read"}
    for path, words in expected.items():
        result, audio = c.predict(handle_file(str(path)), api_name="/voice")
        assert audio is None and not result.get("transcript")
        assert len(result["errors"]) == 1 and words in result["errors"][0], result
        assert "/" not in result["errors"][0] and "Traceback" not in result["errors"][0]
    ok, _ = c.predict("scroll down", api_name="/text")  # the same session still works
    assert ok["actions"][0]["tool"] == "scroll" and not ok["errors"]


def test_session_cap_is_polite_and_frees_up(web: WebApp) -> None:
    cap = web.manager.settings.max_sessions
    extra = []
    while len(web.manager) < cap:
        c = client(web)
        c.predict("", api_name="/text")  # opens a session, runs no turn
        extra.append(c)
    refused, _ = client(web).predict("scroll down", api_name="/text")
    assert refused.get("busy") and "busy" in refused["errors"][0] and "try again" in refused["errors"][0]
    # earlier tests' sessions may already fill the cap: free one of ours, else any
    victim = extra[0].session_hash if extra else next(iter(web.manager.sessions))
    web.call(web.manager.release(victim, reason="test"))
    result, _ = client(web).predict("", api_name="/text")
    assert not result.get("busy")


def test_metrics_beside_the_page_count_the_turn_a_user_just_made(web: WebApp) -> None:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    def scrape() -> dict[str, float]:
        resp = httpx.get(web.url.rstrip("/") + "/metrics", timeout=10)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(resp.text):
            for sample in family.samples:
                if sample.name in ("sayso_turns_total", "sayso_stage_latency_seconds_count"):
                    out[sample.name] = out.get(sample.name, 0.0) + sample.value
                elif sample.name == "sayso_active_sessions":
                    out[sample.name] = sample.value
        return out

    # earlier tests may have filled the session cap: free one session for this user
    if len(web.manager) >= web.manager.settings.max_sessions:
        web.call(web.manager.release(next(iter(web.manager.sessions)), reason="test"))
    before = scrape()
    result, _ = client(web).predict("scroll down", api_name="/text")
    assert result["actions"] and result["actions"][0]["tool"] == "scroll"
    after = scrape()
    assert after["sayso_turns_total"] == before.get("sayso_turns_total", 0) + 1
    assert after["sayso_stage_latency_seconds_count"] > before.get("sayso_stage_latency_seconds_count", 0)
    assert after["sayso_active_sessions"] >= 1
