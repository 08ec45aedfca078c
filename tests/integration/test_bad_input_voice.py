"""Bad input through a real voice turn: no action, no invented text acted upon.

Real Whisper (tiny.en) and real audio (silence, noise, music, a cough, sentences in German,
French and Spanish spoken by espeak-ng); the LLM is a script that tries what the small model
did in issue 12 (navigating to an address it made up), and the browser records what it is
asked to do. At most one sentence comes back: "Sorry, could you repeat that?" (doubtful words)
or the refusal of a made-up address.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sayso.agent.session import REPEAT, Assistant
from sayso.audio.convert import to_16k_mono
from sayso.config import Settings, load_settings
from sayso.types import SAMPLE_RATE, AudioChunk, Utterance
from tests.unit.test_agent_session import FakeBrowser, FakeLlm, tool

INVENTED = "https://www.sayso.com/test/home"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def stt(settings: Settings):  # noqa: ANN201
    from sayso.stt.faster_whisper import FasterWhisperStt

    return FasterWhisperStt(settings=settings)


def _music(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    notes = (261.6, 329.6, 392.0, 523.3)
    out = np.zeros_like(t)
    for i, f in enumerate(notes):  # an arpeggio, each note with its harmonics and a decay
        start = int(i * len(t) / len(notes))
        seg = t[: len(t) - start]
        out[start:] += sum(np.sin(2 * np.pi * f * k * seg) / k for k in (1, 2, 3)) * np.exp(-2 * seg)
    return (0.2 * out / np.max(np.abs(out))).astype(np.float32)


def _cough() -> np.ndarray:
    rng = np.random.default_rng(3)
    n = int(0.35 * SAMPLE_RATE)
    env = np.concatenate([np.linspace(0, 1, n // 10), np.exp(-np.linspace(0, 6, n - n // 10))])
    burst = rng.standard_normal(n) * env * 0.4
    return np.concatenate([np.zeros(SAMPLE_RATE // 2), burst, np.zeros(SAMPLE_RATE // 2)]).astype(np.float32)


def _spoken(settings: Settings, voice: str, text: str) -> np.ndarray:
    from sayso.tts.espeak import EspeakTts

    chunks = EspeakTts(settings=settings, voice=voice).synthesize_sync(text)
    audio = np.concatenate([np.asarray(c.samples) for c in chunks])
    return to_16k_mono(AudioChunk(samples=audio, rate=chunks[0].rate)).samples


def clips(settings: Settings) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {
        "silence": np.zeros(2 * SAMPLE_RATE, dtype=np.float32),
        "white noise": (rng.standard_normal(2 * SAMPLE_RATE) * 0.1).astype(np.float32),
        "music": _music(),
        "cough": _cough(),
        "german": _spoken(settings, "de", "Ich möchte heute Abend ins Kino gehen."),
        "french": _spoken(settings, "fr", "Je voudrais un café, s'il vous plaît."),
        "spanish": _spoken(settings, "es", "¿Dónde está la estación de tren?"),
    }


async def test_bad_input_never_becomes_an_action(settings: Settings, stt: Any) -> None:
    for name, audio in clips(settings).items():
        browser = FakeBrowser()
        llm = FakeLlm(tool("navigate", url=INVENTED))
        assistant = Assistant(settings=settings, llm=llm, stt=stt, tts=None, browser=browser)
        events = [e async for e in assistant.voice_turn(Utterance(audio=AudioChunk(samples=audio, rate=SAMPLE_RATE)))]
        end = next(e.data for e in events if e.type == "turn-end")
        heard = next((e.data["text"] for e in events if e.type == "stt-end"), "")
        assert browser.executed == [], (name, heard)
        reply = end["reply"]
        assert reply in ("", REPEAT) or reply.startswith("I won't open sayso.com"), (name, heard, reply)
