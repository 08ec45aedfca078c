"""Speech and resource faults: Whisper or Piper cannot load, the voice dies mid-reply, the disk
is full for logs and for the browser's temporary profile.

Real stages: the bundled Piper voice, espeak-ng, faster-whisper's loader on a corrupt model,
real Chromium. Faults are real: a corrupt model file, a voice that raises inside synthesis, and
``/dev/full`` (every write fails with ENOSPC) as the disk.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sayso.agent.factory import build_components
from sayso.agent.session import NO_STT
from sayso.audio.io import write_wav
from sayso.browser.session import SeleniumBrowser
from sayso.config import load_settings
from sayso.errors import AudioError
from sayso.logs import RedactionFilter
from sayso.testsite import TestSite
from sayso.types import AudioChunk, Utterance

from .conftest import Tracked, assert_clean, settings_for, turn, voice

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def piper() -> Any:
    from sayso.tts.factory import build_tts

    tts = build_tts(load_settings(tts="piper"))
    assert type(tts).__name__ == "PiperTts"
    return tts


def _utterance(seconds: float = 1.0) -> Utterance:
    t = np.arange(int(16000 * seconds)) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return Utterance(audio=AudioChunk(samples=audio, rate=16000), start_ms=0, end_ms=seconds * 1000,
                     speech_ms=seconds * 1000)


async def test_whisper_cannot_load_voice_says_so_typing_works(assistant_factory, browser: Tracked,
                                                             site: TestSite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "whisper"
    bad.mkdir()
    (bad / "model.bin").write_bytes(b"\x00garbage" * 1000)
    (bad / "config.json").write_text("{not json")
    comp = await build_components(load_settings(stt="faster-whisper", stt_model=str(bad)), stt=True, llm=False,
                                  tts=False)
    assert comp.stt is None and "stt" in comp.problems
    assert "\n" not in comp.problems["stt"] and "Traceback" not in comp.problems["stt"]
    assert (await browser.do("navigate", url=site.url("/"))).ok
    assistant = assistant_factory(stt=comp.stt, browser=browser.browser)
    heard = await voice(assistant, _utterance())
    assert heard.reply == NO_STT
    assert_clean(heard.reply)
    typed = await turn(assistant, "click on news")  # typed input still works
    assert typed.actions_ok() == [True] and "News" in typed.reply


async def test_piper_cannot_load_espeak_speaks(assistant_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    voice_file = tmp_path / "broken.onnx"
    voice_file.write_bytes(b"this is not an onnx model")
    (tmp_path / "broken.onnx.json").write_text('{"audio": {"sample_rate": 22050}}')
    comp = await build_components(load_settings(tts="piper", tts_voice=str(voice_file)), stt=False, llm=False)
    assert type(comp.tts).__name__ == "EspeakTts" and not comp.problems
    assistant = assistant_factory(tts=comp.tts)
    seen = await turn(assistant, "reload the page")  # no browser: one sentence, spoken by espeak-ng
    assert "browser is not available" in seen.reply
    assert seen.audio_s > 0.5 and not seen.errors


class DiesMidReply:
    """The real Piper voice, crashing inside synthesis from its second sentence on (once armed)."""

    def __init__(self, tts: Any) -> None:
        self.tts, self.name, self.sample_rate = tts, "piper-dying", tts.sample_rate
        self.armed, self.calls = True, 0

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.calls += 1
        if self.armed and self.calls >= 2:
            raise RuntimeError("onnxruntime: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION /usr/lib/libonnx.so")
        async for chunk in self.tts.synthesize(text):
            yield chunk

    async def warmup(self) -> None: ...

    async def close(self) -> None: ...


async def test_tts_failure_mid_reply_text_still_shown(assistant_factory, browser: Tracked, site: TestSite,
                                                      piper: Any) -> None:  # type: ignore[no-untyped-def]
    dying = DiesMidReply(piper)
    assistant = assistant_factory(tts=dying, browser=browser.browser)
    assert (await browser.do("navigate", url=site.url("/about.html"))).ok
    expected = (await browser.do("read_page")).message
    seen = await turn(assistant, "read this page")
    assert seen.reply == expected  # the whole text (a heading and a sentence), on screen
    assert seen.audio_s > 0.3, "the first sentence was spoken"
    assert [e["message"] for e in seen.errors] == ["I couldn't speak that reply; the text is on screen."]
    for e in seen.errors:
        assert_clean(e["message"])
    dying.armed = False  # the voice recovers: the next turn speaks again
    nxt = await turn(assistant, "scroll down")
    assert nxt.actions_ok() == [True] and nxt.audio_s > 0.3 and not nxt.errors


async def test_disk_full_for_logs_turns_go_on(assistant_factory, browser: Tracked, site: TestSite) -> None:  # type: ignore[no-untyped-def]
    full = logging.FileHandler("/dev/full")  # every write: ENOSPC, like a full disk
    full.addFilter(RedactionFilter())
    root = logging.getLogger()
    old_level, old_raise = root.level, logging.raiseExceptions
    root.addHandler(full)
    root.setLevel(logging.DEBUG)
    logging.raiseExceptions = False  # as in production: a failing log write is dropped
    try:
        assistant = assistant_factory(browser=browser.browser)
        assert (await browser.do("navigate", url=site.url("/"))).ok
        for command in ("click on pricing", "go back", "read the headings"):
            seen = await turn(assistant, command)
            assert seen.actions_ok() == [True], seen.reply
    finally:
        root.removeHandler(full)
        root.setLevel(old_level)
        logging.raiseExceptions = old_raise
        with contextlib.suppress(OSError):  # closing flushes into the full disk too
            full.close()


def test_disk_full_for_audio_output_is_one_sentence() -> None:
    chunk = AudioChunk(samples=np.zeros(16000, np.int16), rate=16000)
    with pytest.raises(AudioError) as err:
        write_wav("/dev/full", chunk)
    assert err.value.code == "audio.write_failed" and "No space left on device" in err.value.message


async def test_no_space_for_the_browser_profile(site: TestSite, monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser's temporary profile cannot be written: one sentence, then it starts once space is back."""
    browser = Tracked(SeleniumBrowser(settings=settings_for(site)))
    try:
        monkeypatch.setattr(tempfile, "tempdir", "/dev/full/tmp")  # creating the profile fails
        from sayso.types import ToolCall

        res = await browser.browser.execute(ToolCall(name="navigate", args={"url": site.url("/")}))
        assert not res.ok and res.error_code == "browser.launch_failed"
        assert_clean(res.message)
        assert browser.browser.owned_pids() == []
        monkeypatch.undo()
        res = await browser.do("navigate", url=site.url("/news.html"))
        assert res.ok and "News" in res.message
    finally:
        await browser.aclose_and_check()
