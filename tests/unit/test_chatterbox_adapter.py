"""The worker's Chatterbox adapter, driven by a FAKE model.

FAKE: `FakeChatterbox` stands in for `chatterbox.tts.ChatterboxTTS` 0.1.7 (same surface: `sr`,
`conds`, `prepare_conditionals(wav, exaggeration)`, `generate(text, ..., exaggeration,
cfg_weight)` returning a (1, N) array, a 1000-token / 40 s cap, and a generate() that reads the
shared `conds`). The real model needs chatterbox-tts + torch 2.6 + 3 GB of weights + a GPU, none
of which this machine has; the real GPU path is unverified here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from sayso.config import load_settings
from sayso.errors import ConfigError, SaysoError, TtsError
from sayso.worker.chatterbox import CAP_S, ChatterboxVoice, load_chatterbox, split_text
from sayso.worker.install import CHATTERBOX_REQUIREMENTS, install_chatterbox


class FakeConds:
    def __init__(self, voice: str) -> None:
        self.voice = voice
        self.t3 = ("t3", 0.5)


class FakeChatterbox:
    """FAKE ChatterboxTTS: no weights; ~0.06 s of audio per character, capped at 40 s."""

    sr = 24_000

    def __init__(self, *, builtin: bool = True) -> None:
        self.conds = FakeConds("builtin") if builtin else None
        self.prepared: list[str] = []
        self.calls: list[tuple[str, str, float]] = []
        self._active = 0
        self.max_active = 0
        self._guard = threading.Lock()

    def prepare_conditionals(self, wav_fpath: str, exaggeration: float = 0.5) -> None:
        self.prepared.append(Path(wav_fpath).name)
        self.conds = FakeConds(Path(wav_fpath).name)

    def generate(self, text, repetition_penalty=1.2, min_p=0.05, top_p=1.0, audio_prompt_path=None,
                 exaggeration=0.5, cfg_weight=0.5, temperature=0.8):
        with self._guard:
            self._active += 1
            self.max_active = max(self.max_active, self._active)
        voice = self.conds.voice
        time.sleep(0.005)  # let another thread try to interleave
        self.conds.t3 = ("t3", exaggeration)  # the real generate() mutates the shared conds too
        assert self.conds.voice == voice, "conditionals changed during generate"
        self.calls.append((text, voice, cfg_weight))
        with self._guard:
            self._active -= 1
        seconds = min(CAP_S, 0.06 * len(text))
        return np.full((1, int(seconds * self.sr)), 0.25, np.float32)


@pytest.fixture
def voices(tmp_path: Path) -> tuple[str, str]:
    a, b = tmp_path / "alice.wav", tmp_path / "bob.wav"
    a.write_bytes(b"RIFF")
    b.write_bytes(b"RIFF")
    return str(a), str(b)


async def test_sentences_come_out_one_by_one_at_24khz() -> None:
    model = FakeChatterbox()
    voice = ChatterboxVoice(model, exaggeration=0.7, cfg_weight=0.3)
    stream = voice.synthesize("Opening the news. It has three sections! Which one?")
    first = await anext(stream)
    assert len(model.calls) == 1  # the first sentence is ready before the rest is generated
    assert (first.rate, first.channels, first.samples.dtype) == (24_000, 1, np.int16)
    rest = [c async for c in stream]
    assert [c[0] for c in model.calls] == ["Opening the news.", "It has three sections!", "Which one?"]
    assert len(rest) == 2
    assert all(c[2] == 0.3 for c in model.calls)  # cfg_weight reaches the model


async def test_generate_is_serialised_and_each_voice_keeps_its_conditionals(voices) -> None:
    alice, bob = voices
    model = FakeChatterbox()
    voice = ChatterboxVoice(model)

    async def say(text: str, who: str | None) -> None:
        async for _ in voice.synthesize(text, voice=who):
            pass

    await asyncio.gather(*(say(f"Line {i}. Again {i}.", [alice, bob, None][i % 3]) for i in range(9)))
    assert model.max_active == 1
    assert sorted(model.prepared) == ["alice.wav", "bob.wav"]  # computed once per voice, cached
    spoken_by = {text: who for text, who, _ in model.calls}
    for i in range(9):
        expected = ["alice.wav", "bob.wav", "builtin"][i % 3]
        assert spoken_by[f"Line {i}."] == expected and spoken_by[f"Again {i}."] == expected
    assert voice.stats["conditionals_computed"] == 2


async def test_long_text_is_cut_below_the_40s_cap_and_a_capped_piece_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    long_sentence = " ".join(["word"] * 400)  # ~2000 characters with no punctuation at all
    pieces = split_text(long_sentence)
    assert all(len(p) <= 250 for p in pieces) and " ".join(pieces) == long_sentence
    model = FakeChatterbox()
    chunks = [c async for c in ChatterboxVoice(model).synthesize(long_sentence)]
    assert max(c.duration_s for c in chunks) < CAP_S
    uncut = ChatterboxVoice(FakeChatterbox(), max_chars=5000)
    with caplog.at_level(logging.WARNING, logger="sayso.worker.chatterbox"):
        capped = [c async for c in uncut.synthesize(long_sentence)]
    assert capped[0].duration_s == pytest.approx(CAP_S)
    assert "stopped at its 40 s limit" in caplog.text and uncut.stats["capped"] == 1


def test_split_keeps_clauses_together_when_it_can() -> None:
    text = ("This is a fairly long sentence about the weather, which goes on and on, " * 5).strip()
    pieces = split_text(text, max_chars=120)
    assert all(len(p) <= 120 for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1])
    assert split_text("Dr. Smith is in.  It costs 3.5 dollars! See you?") == [
        "Dr. Smith is in.", "It costs 3.5 dollars!", "See you?"]


async def test_missing_voice_is_one_sentence(tmp_path: Path) -> None:
    no_builtin = ChatterboxVoice(FakeChatterbox(builtin=False))
    with pytest.raises(TtsError, match="no built-in voice"):
        async for _ in no_builtin.synthesize("Hi."):
            pass
    with pytest.raises(TtsError, match="does not exist"):
        async for _ in ChatterboxVoice(FakeChatterbox()).synthesize("Hi.", voice=str(tmp_path / "x.wav")):
            pass


async def test_loading_without_chatterbox_installed_names_the_fix() -> None:
    with pytest.raises(ConfigError) as err:
        await load_chatterbox(load_settings(), device="cuda")
    assert err.value.message == "Chatterbox is not installed in this environment."
    assert "sayso worker install chatterbox" in (err.value.hint or "")


def test_installer_builds_a_separate_env_with_pins(tmp_path: Path) -> None:
    ran: list[list[str]] = []
    target = install_chatterbox(load_settings(), venv=tmp_path / "cb", runner=lambda c: ran.append(list(c)) or 0)
    assert target == tmp_path / "cb"
    assert ran[0][1:3] == ["-m", "venv"]
    assert "chatterbox-tts==0.1.7" in ran[2] and "setuptools==80.9.0" in ran[2]
    assert all("==" in r for r in CHATTERBOX_REQUIREMENTS)
    assert "--no-deps" in ran[3]  # sayso itself, without its torch-free pins
    assert all(c[0].startswith(str(tmp_path / "cb")) for c in ran[1:])  # never the shared venv
    with pytest.raises(SaysoError) as err:
        install_chatterbox(load_settings(), venv=tmp_path / "cb2", runner=lambda c: 1)
    assert err.value.message.startswith("Building the Chatterbox environment failed at step 1 of 5")
