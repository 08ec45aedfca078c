"""The real-time ear with real parts: Piper speech, paced like a microphone, through the real
Silero segmenter and the real Whisper (tiny.en), as the assistant hears a user.

- partial transcripts arrive while the user is still speaking, and the turn ends with the
  transcript of all its words (that it is reused rather than made again after ``vad-end`` is
  tested sample-exact in tests/unit/test_segmenter.py: here it depends on the machine's load);
- a user who pauses a second after "search for" is not cut off: one turn, query "cheap flights".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from rapidfuzz import fuzz

from sayso.agent.fastpath import is_complete_command, plan
from sayso.audio.convert import to_16k_mono
from sayso.audio.segmenter import Segmenter
from sayso.config import Settings, load_settings
from sayso.events import TurnEvent, now_ms
from sayso.stt import filters
from sayso.types import SAMPLE_RATE, AudioChunk

pytestmark = pytest.mark.slow

STEP = SAMPLE_RATE // 50  # 20 ms microphone frames


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def stt(settings: Settings):
    from sayso.stt.faster_whisper import FasterWhisperStt

    stt = FasterWhisperStt(settings=settings)
    asyncio.run(stt.warmup())
    return stt


@pytest.fixture(scope="module")
def piper(settings: Settings):
    from sayso.tts.piper import PiperTts

    return PiperTts(settings=settings)


def render(tts, text: str, *, noiseless: bool = False) -> np.ndarray:
    if noiseless:  # Piper without its sampled noise: the same clip on every run
        from piper.config import SynthesisConfig

        syn = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        raw = list(tts.load().synthesize(text, syn_config=syn))
        audio = np.concatenate([c.audio_int16_array.reshape(-1) for c in raw])
        rate = raw[0].sample_rate
    else:
        chunks = tts.synthesize_sync(text)
        audio = np.concatenate([np.asarray(c.samples) for c in chunks])
        rate = chunks[0].rate
    speech = to_16k_mono(AudioChunk(samples=audio, rate=rate)).samples
    loud = np.flatnonzero(np.abs(speech) > 0.01)
    return speech[loud[0]:loud[-1] + 1]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def heard(stt, audio: np.ndarray) -> str:
    from sayso.types import Utterance

    utt = Utterance(audio=AudioChunk(samples=audio, rate=SAMPLE_RATE))
    return filters.normalise(stt.transcribe_sync(utt).text)


async def mic(audio: np.ndarray) -> AsyncIterator[AudioChunk]:
    """20 ms frames, each when its last sample has been spoken (as a microphone delivers)."""
    t0 = now_ms()
    for i in range(0, audio.size, STEP):
        delay = (t0 + (i + STEP) / SAMPLE_RATE * 1000.0 - now_ms()) / 1000.0
        if delay > 0:
            await asyncio.sleep(delay)
        yield AudioChunk(samples=audio[i:i + STEP], rate=SAMPLE_RATE)


async def test_partial_transcripts_arrive_while_the_user_speaks(stt, piper, settings) -> None:
    # ~7 s of speech: the first partial (of its first 300 ms) lands long before the end even
    # when a loaded machine takes seconds per transcription
    speech = render(piper, "please search the web for cheap flights to lisbon in march, and then "
                           "show me the cheapest hotels near the old town with a free breakfast")
    events: list[TurnEvent] = []

    async def transcribe(utt):  # a transcriber of its own: no pace measured yet, so it tries
        return await stt.transcribe(utt)

    seg = Segmenter(settings=settings, sink=events.append, transcriber=transcribe,
                    is_complete=is_complete_command)
    utts = [u async for u in seg.segment(mic(np.concatenate([silence(0.5), speech, silence(2.0)])))]
    assert len(utts) == 1
    types = [e.type for e in events]
    end = types.index("vad-end")
    during = [e for e in events[:end] if e.type == "stt-partial" and not e.data["final"]]
    assert during, [(round(e.t_ms - events[0].t_ms), e.type, dict(e.data)) for e in events]
    assert all(e.data["text"] and e.data["audio_ms"] < events[end].data["speech_end_ms"] for e in during)
    final = utts[0].transcript.text if utts[0].transcript is not None else stt.transcribe_sync(utts[0]).text
    assert "breakfast" in final.lower()


@pytest.fixture(scope="module")
def paused_request(stt, piper) -> tuple[np.ndarray, np.ndarray]:
    """'search for' and 'cheap flights': one noiseless (so identical every run) Piper render of
    the whole request, cut in the quiet between "for" and "cheap" (the lowest 20 ms between a
    quarter and a half of it). The halves are checked once, so the test is about the pause,
    not about Piper's diction."""
    win = SAMPLE_RATE // 50
    speech = render(piper, "search for cheap flights", noiseless=True)
    energy = np.array([np.sqrt(np.mean(speech[j:j + win] ** 2))
                       for j in range(0, speech.size - win, win // 2)])
    lo, hi = int(len(energy) * 0.25), int(len(energy) * 0.52)
    cut = (lo + int(np.argmin(energy[lo:hi]))) * (win // 2) + win // 2
    first, second = speech[:cut], speech[cut:]
    assert heard(stt, np.concatenate([silence(0.3), first, silence(0.3)])) == "search for"
    return first, second


async def test_a_user_who_pauses_after_search_for_is_not_cut_off(stt, settings, paused_request) -> None:
    first, second = paused_request
    audio = np.concatenate([silence(0.5), first, silence(1.0), second, silence(2.0)])
    events: list[TurnEvent] = []
    seg = Segmenter(settings=settings, sink=events.append, transcriber=stt.transcribe,
                    is_complete=is_complete_command)
    utts = [u async for u in seg.segment(mic(audio))]
    assert len(utts) == 1, [e.data for e in events if e.type in ("vad-end", "stt-partial")]
    # as the assistant does: the transcript that came with the utterance, else transcribe it
    text = utts[0].transcript.text if utts[0].transcript is not None else stt.transcribe_sync(utts[0]).text
    calls = plan(text)
    assert calls is not None and calls[0].name == "search"
    # the words after the pause are in the same turn's query (how exactly the recogniser spells
    # them, e.g. "cheap lights", is its accuracy, measured by the bench, not this test's subject)
    assert fuzz.ratio(calls[0].args["query"], "cheap flights") >= 80, calls[0].args
