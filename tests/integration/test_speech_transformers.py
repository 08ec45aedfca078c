"""The transformers Whisper backend (extra ``sayso[transformers]``), on tiny.en converted offline
from the bundled CTranslate2 weights. Skipped, with the reason printed, when torch is absent
(the default install and `make test` do not include torch: it takes minutes to install here).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="the transformers backend needs: pip install 'sayso[transformers]'")
pytest.importorskip("transformers", reason="the transformers backend needs: pip install 'sayso[transformers]'")

from sayso.config import load_settings  # noqa: E402
from sayso.types import SAMPLE_RATE, AudioChunk, Utterance  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):
    return load_settings(stt="transformers", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def stt(settings):
    from sayso.registry import build

    return build("stt", settings)


def test_bundled_tiny_en_converts_to_a_transformers_checkpoint(stt) -> None:
    from pathlib import Path

    ckpt = Path(stt.checkpoint)
    assert (ckpt / "model.safetensors").is_file()
    gen = json.loads((ckpt / "generation_config.json").read_text())
    # an English-only model must not carry these, or long audio comes back empty
    assert "lang_to_id" not in gen and "task_to_id" not in gen


def test_transformers_backend_transcribes_speech_with_words_and_confidence(stt, settings) -> None:
    from sayso.audio.convert import to_16k_mono
    from sayso.tts.piper import PiperTts

    chunk = PiperTts(settings=settings).synthesize_sync("Open Google, then search for vegan lasagna.")[0]
    audio = to_16k_mono(chunk).samples
    tr = stt.transcribe_sync(Utterance(audio=AudioChunk(samples=audio, rate=SAMPLE_RATE)), words=True)
    assert "google" in tr.text.lower() and "lasagna" in tr.text.lower()
    assert [w.text.lower().strip(".,") for w in tr.words][-1] == "lasagna"
    assert all(0 <= w.start_s <= w.end_s <= tr.audio_s for w in tr.words), [(w.text, w.start_s, w.end_s) for w in tr.words if not 0 <= w.start_s <= w.end_s <= tr.audio_s]
    assert 0 <= tr.no_speech_prob < 0.5 and tr.avg_logprob < 0


async def test_transformers_backend_returns_nothing_for_silence(stt) -> None:
    silence = AudioChunk(samples=np.zeros(SAMPLE_RATE, dtype=np.float32), rate=SAMPLE_RATE)
    tr = await stt.transcribe(Utterance(audio=silence))
    assert tr.empty and tr.no_speech_prob == 1.0
