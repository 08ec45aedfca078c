"""The one TTS fallback adapter, with fake voices (the ``Tts`` protocol) and a fake clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import numpy as np
import pytest

from sayso.errors import ConfigError, TtsError, TtsUnavailable
from sayso.tts import fallback
from sayso.tts.fallback import FallbackTts, Voice, first_loadable
from sayso.types import AudioChunk


class FakeVoice:
    """Speaks one chunk per call; ``down`` makes it unavailable before (or after) its first audio."""

    def __init__(self, name: str, rate: int = 16_000) -> None:
        self.name, self.sample_rate = name, rate
        self.down: str | None = None
        self.dies_after_first = False
        self.spoken: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        if self.down:
            raise TtsUnavailable(f"{self.name} {self.down}.", why=self.down)
        self.spoken.append(text)
        yield AudioChunk(samples=np.ones(160, np.int16), rate=self.sample_rate)
        if self.dies_after_first:
            raise TtsUnavailable(f"{self.name} closed the connection.", why="closed the connection")

    async def warmup(self) -> None:
        if self.down:
            raise TtsUnavailable(f"{self.name} {self.down}.", why=self.down)

    async def close(self) -> None: ...


def ready(tts: FakeVoice) -> Voice:
    async def build() -> FakeVoice:
        return tts

    return Voice(f"The server {tts.name}", build)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(fallback.time, "monotonic", c.monotonic)
    return c


async def speak(tts: FallbackTts, text: str) -> list[AudioChunk]:
    return [c async for c in tts.synthesize(text)]


async def test_down_voice_is_skipped_said_once_and_retried_after_the_window(clock: Clock, caplog) -> None:
    remote, local = FakeVoice("remote", 24_000), FakeVoice("local", 22_050)
    tts = FallbackTts([ready(remote), ready(local)], retry_s=30)
    remote.down = "is not running (connection refused)"
    with caplog.at_level(logging.WARNING):
        assert (await speak(tts, "One."))[0].rate == 22_050
        clock.now += 10
        await speak(tts, "Two.")
    assert local.spoken == ["One.", "Two."] and tts.name == "local" and tts.sample_rate == 22_050
    assert tts.notice == ("The server remote is not running (connection refused), so the server "
                          "local is speaking instead.")
    assert caplog.text.count("is speaking instead") == 1  # said once, not per sentence
    remote.down = None
    clock.now += 10  # still inside the 30 s window: not asked
    await speak(tts, "Three.")
    assert remote.spoken == []
    clock.now += 11
    await speak(tts, "Four.")
    assert remote.spoken == ["Four."] and tts.notice == "" and tts.name == "remote"


async def test_failure_after_the_first_audio_is_one_sentence_not_a_second_voice(clock: Clock) -> None:
    remote, local = FakeVoice("remote"), FakeVoice("local")
    remote.dies_after_first = True
    tts = FallbackTts([ready(remote), ready(local)], retry_s=30)
    with pytest.raises(TtsError) as err:
        await speak(tts, "A long reply.")
    assert err.value.message == "The server remote stopped in the middle of a sentence."
    assert local.spoken == []  # half a sentence cannot be taken back by another voice


async def test_a_voice_that_cannot_load_is_never_tried_again(clock: Clock) -> None:
    local = FakeVoice("local")
    calls = []

    async def broken() -> FakeVoice:
        calls.append(1)
        raise ConfigError("The voice file is not an ONNX model.")

    tts = FallbackTts([Voice("The GPU voice", broken), ready(local)], retry_s=1)
    await speak(tts, "One.")
    clock.now += 100
    await speak(tts, "Two.")
    assert calls == [1] and local.spoken == ["One.", "Two."]
    assert tts.notice == ("The GPU voice could not be loaded (The voice file is not an ONNX model), "
                          "so the server local is speaking instead.")


async def test_last_voice_down_is_its_own_sentence(clock: Clock) -> None:
    only = FakeVoice("remote")
    only.down = "offers no text-to-speech voice (it offers speech-to-text only)"
    tts = FallbackTts([ready(only)], retry_s=30)
    with pytest.raises(TtsUnavailable) as err:
        await speak(tts, "Hello.")
    assert err.value.message == "remote offers no text-to-speech voice (it offers speech-to-text only)."
    assert await speak(tts, "   ") == []  # nothing to say is not an error


def test_first_loadable_logs_why_and_takes_the_next(caplog) -> None:
    def piper() -> FakeVoice:
        raise ConfigError("The Piper voice x.onnx is not an existing .onnx file.")

    with caplog.at_level(logging.WARNING):
        voice = first_loadable([("The Piper voice x.onnx", piper), ("espeak-ng", lambda: FakeVoice("espeak"))])
    assert voice.name == "espeak"
    assert ("The Piper voice x.onnx could not be loaded (The Piper voice x.onnx is not an existing "
            ".onnx file), so espeak-ng is speaking instead.") in caplog.text
