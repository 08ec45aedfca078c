"""Endpointing with the real Silero VAD on speech made at test time (espeak-ng, in-process).

The transcriber is a fake that follows the Stt call shape (async, Utterance -> Transcript):
these tests are about when turns start and end, not about recognition.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from sayso.audio.convert import to_16k_mono
from sayso.audio.segmenter import Segmenter, SegmenterConfig
from sayso.events import TurnEvent
from sayso.types import SAMPLE_RATE, AudioChunk, Transcript, Utterance

CHUNK = SAMPLE_RATE // 50  # 20 ms


@pytest.fixture(scope="module")
def phrases() -> list[np.ndarray]:
    """Three spoken phrases, 16 kHz float32, trimmed to the voiced part."""
    from sayso.config import Settings
    from sayso.tts.espeak import EspeakTts

    tts = EspeakTts(settings=Settings())
    out = []
    for text in ("open google", "scroll down please", "search for vegan lasagna"):
        chunk = tts.synthesize_sync(text)[0]
        audio = to_16k_mono(chunk).samples
        loud = np.flatnonzero(np.abs(audio) > 0.02)
        out.append(audio[loud[0]:loud[-1] + 1])
    return out


def stream(phrases: list[np.ndarray], gap_s: float = 1.2) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Phrases separated by silence; returns the audio and each phrase's (start, end) in ms."""
    gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
    parts, spans, pos = [gap], [], gap.size
    for p in phrases:
        spans.append((pos / 16, (pos + p.size) / 16))
        parts += [p, gap]
        pos += p.size + gap.size
    return np.concatenate(parts), spans


def chunks(audio: np.ndarray, rate: int = SAMPLE_RATE) -> list[AudioChunk]:
    step = rate // 50
    return [AudioChunk(samples=audio[i:i + step], rate=rate) for i in range(0, audio.size, step)]


async def paced(items: list[AudioChunk], delay: float = 0.0) -> AsyncIterator[AudioChunk]:
    for c in items:
        await asyncio.sleep(delay)
        yield c


def test_three_phrases_in_20ms_chunks_give_three_utterances_ended_in_time(phrases: list[np.ndarray]) -> None:
    audio, spans = stream(phrases)
    events: list[TurnEvent] = []
    seg = Segmenter(config=SegmenterConfig(silence_ms=500), sink=events.append)
    utts = [u for c in chunks(audio) for u in seg.feed(c)] + seg.flush()
    assert len(utts) == 3
    ends = [e for e in events if e.type == "vad-end"]
    starts = [e for e in events if e.type == "vad-start"]
    assert len(ends) == len(starts) == 3
    for utt, end, start, (s_ms, e_ms) in zip(utts, ends, starts, spans, strict=True):
        # the end of speech is declared within (silence setting + 100 ms) of the real end
        assert 0 <= end.data["stream_ms"] - e_ms <= 500 + 100
        assert end.data["reason"] == "silence"
        # the utterance covers the whole phrase (pre-roll included)
        assert utt.start_ms <= s_ms - 100 and utt.end_ms >= e_ms
        assert utt.audio.rate == SAMPLE_RATE and utt.audio.samples.dtype == np.float32
        assert start.turn_id == end.turn_id == utt.turn_id != ""


def test_silence_and_noise_make_no_utterance() -> None:
    rng = np.random.default_rng(1)
    seg = Segmenter()
    silence = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    noise = (rng.standard_normal(3 * SAMPLE_RATE) * 0.02).astype(np.float32)
    out = [u for c in chunks(np.concatenate([silence, noise])) for u in seg.feed(c)] + seg.flush()
    assert out == []


def test_48k_stereo_microphone_chunks_are_segmented_like_16k(phrases: list[np.ndarray]) -> None:
    audio, _ = stream(phrases)
    import soxr

    hi = soxr.resample(audio, SAMPLE_RATE, 48_000).astype(np.float32)
    stereo = (np.stack([hi, hi], axis=1) * 32767).astype(np.int16)
    seg = Segmenter()
    step = 48_000 // 50
    utts = []
    for i in range(0, stereo.shape[0], step):
        utts += seg.feed(AudioChunk(samples=stereo[i:i + step], rate=48_000, channels=2))
    utts += seg.flush()
    assert len(utts) == 3
    assert all(u.audio.rate == SAMPLE_RATE and u.audio.samples.ndim == 1 for u in utts)


def test_a_short_pause_inside_a_command_does_not_split_it(phrases: list[np.ndarray]) -> None:
    pause = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
    audio, _ = stream([np.concatenate([phrases[0], pause, phrases[1]])])
    seg = Segmenter(config=SegmenterConfig(silence_ms=500))
    utts = [u for c in chunks(audio) for u in seg.feed(c)] + seg.flush()
    assert len(utts) == 1


def test_long_speech_is_cut_at_the_maximum_length(phrases: list[np.ndarray]) -> None:
    talk = np.concatenate([phrases[2]] * 4)  # ~6 s without a pause long enough to end
    audio, _ = stream([talk])
    events: list[TurnEvent] = []
    seg = Segmenter(config=SegmenterConfig(max_utterance_s=2.0), sink=events.append)
    utts = [u for c in chunks(audio) for u in seg.feed(c)] + seg.flush()
    assert len(utts) >= 3
    assert all(u.audio.duration_s <= 2.05 for u in utts)
    assert any(e.data.get("reason") == "max_length" for e in events if e.type == "vad-end")


class FakeStt:
    """Follows the Stt protocol's transcribe(); says what it was given (its length)."""

    def __init__(self, text: str = "scroll down", delay: float = 0.0) -> None:
        self.text, self.delay, self.calls = text, delay, []

    async def transcribe(self, utt: Utterance) -> Transcript:
        self.calls.append(utt.audio.frames)
        await asyncio.sleep(self.delay)
        return Transcript(text=f"{self.text} {utt.audio.frames}")


async def test_speculative_transcript_is_ready_when_the_turn_ends(phrases: list[np.ndarray]) -> None:
    audio, _ = stream([phrases[1]])
    stt = FakeStt()
    seg = Segmenter(config=SegmenterConfig(silence_ms=500, partial_ms=0), transcriber=stt.transcribe)
    utts = [u async for u in seg.segment(paced(chunks(audio)))]
    assert len(utts) == 1
    utt = utts[0]
    # no partials: transcribed once, in the pause, on exactly the audio of the final utterance
    assert stt.calls == [utt.audio.frames]
    assert utt.transcript is not None and utt.transcript.text == f"scroll down {utt.audio.frames}"


async def test_a_complete_command_ends_the_turn_before_the_full_silence(phrases: list[np.ndarray]) -> None:
    audio, (span,) = stream([phrases[1]], gap_s=3.0)
    events: list[TurnEvent] = []
    seg = Segmenter(config=SegmenterConfig(silence_ms=2000, speculative_ms=150), sink=events.append,
                    transcriber=FakeStt().transcribe, is_complete=lambda text: text.startswith("scroll"))
    utts = [u async for u in seg.segment(paced(chunks(audio)))]
    assert len(utts) == 1 and utts[0].transcript is not None
    end = next(e for e in events if e.type == "vad-end")
    assert end.data["reason"] == "complete"
    assert end.data["stream_ms"] - span[1] < 1000  # long before the 2 s silence


async def test_speech_resuming_discards_the_speculative_transcript(phrases: list[np.ndarray]) -> None:
    pause = np.zeros(int(0.35 * SAMPLE_RATE), dtype=np.float32)  # > speculative, < silence
    audio, _ = stream([np.concatenate([phrases[0], pause, phrases[1]])])
    stt = FakeStt()
    seg = Segmenter(config=SegmenterConfig(silence_ms=600, partial_ms=0), transcriber=stt.transcribe,
                    is_complete=lambda text: False)
    utts = [u async for u in seg.segment(paced(chunks(audio)))]
    assert len(utts) == 1
    assert len(stt.calls) >= 2  # one in the pause (discarded), one at the end
    assert utts[0].transcript is not None
    assert utts[0].transcript.text.endswith(str(utts[0].audio.frames))  # the final audio's


async def test_push_api_with_speculation_matches_the_protocol(phrases: list[np.ndarray]) -> None:
    audio, _ = stream(phrases[:2])
    seg = Segmenter(transcriber=FakeStt().transcribe)
    out: list[Utterance] = []
    for c in chunks(audio):
        out += await seg.feed_async(c)
    out += await seg.flush_async()
    assert len(out) == 2 and all(u.transcript is not None for u in out)


def test_a_broken_event_sink_does_not_break_endpointing(phrases: list[np.ndarray]) -> None:
    def sink(event: TurnEvent) -> None:
        raise RuntimeError("observer bug")

    audio, _ = stream(phrases[:1])
    seg = Segmenter(sink=sink)
    assert len([u for c in chunks(audio) for u in seg.feed(c)] + seg.flush()) == 1


def test_bad_chunks_raise_a_clean_audio_error() -> None:
    from sayso.errors import AudioError

    seg = Segmenter()
    with pytest.raises(AudioError):
        seg.feed(AudioChunk(samples=np.zeros(100, dtype=np.float32), rate=1000))
    with pytest.raises(AudioError):
        seg.feed(AudioChunk(samples=np.zeros((10, 2, 2), dtype=np.float32), rate=16000))
    nan = np.full(CHUNK * 10, np.nan, dtype=np.float32)
    assert seg.feed(AudioChunk(samples=nan, rate=SAMPLE_RATE)) == []  # NaN is silence, not a crash


# ------------------------------------------------------- the word-aware end of turn (part 1)
# Driven without pacing: every 20 ms chunk is fed at once and the fake transcriber answers at
# its first step, so what is decided depends on sample counts only, never on the wall clock.

@pytest.fixture(scope="module")
def said() -> dict[str, np.ndarray]:
    from sayso.config import Settings
    from sayso.tts.espeak import EspeakTts

    tts = EspeakTts(settings=Settings())
    out = {}
    for text in ("scroll down", "who painted the mona lisa", "search for", "cheap flights"):
        audio = to_16k_mono(tts.synthesize_sync(text)[0]).samples
        loud = np.flatnonzero(np.abs(audio) > 0.02)
        out[text] = audio[loud[0]:loud[-1] + 1]
    return out


class ScriptedStt:
    """Says the words spoken in the audio it is given: ``script`` is [(samples, text)] in order;
    the text of the last entry whose sample count the audio reaches. Answers at once."""

    def __init__(self, script: list[tuple[int, str]]) -> None:
        self.script, self.calls, self.running, self.most = script, [], 0, 0

    async def transcribe(self, utt: Utterance) -> Transcript:
        self.calls.append(utt.audio.frames)
        text = ""
        for n, words in self.script:
            if utt.audio.frames >= n:
                text = words
        return Transcript(text=text)


async def run_unpaced(seg: Segmenter, audio: np.ndarray) -> list[Utterance]:
    out: list[Utterance] = []
    for c in chunks(audio):
        out += await seg.feed_async(c)
    return out + await seg.flush_async()


def gap_after_speech(events: list[TurnEvent]) -> float:
    end = next(e for e in events if e.type == "vad-end")
    return end.data["stream_ms"] - end.data["speech_end_ms"]


def say(*parts: np.ndarray | float) -> tuple[np.ndarray, list[int]]:
    """Speech parts and pauses (seconds) after 0.5 s of silence, 2 s of silence at the end;
    returns the audio and the sample index where each speech part ends."""
    out, ends, pos = [np.zeros(SAMPLE_RATE // 2, np.float32)], [], SAMPLE_RATE // 2
    for p in parts:
        a = np.zeros(int(p * SAMPLE_RATE), np.float32) if isinstance(p, float) else p
        out.append(a)
        pos += a.size
        if not isinstance(p, float):
            ends.append(pos)
    out.append(np.zeros(2 * SAMPLE_RATE, np.float32))
    return np.concatenate(out), ends


@pytest.mark.parametrize(("text", "low", "high", "reason"), [
    ("scroll down", 200, 320, "complete"),  # a complete command: ~250 ms
    ("who painted the mona lisa", 400, 520, "silence"),  # an open sentence: the default 450 ms
    ("search for", 1100, 1300, "silence"),  # an unfinished request: 1.2 s
])
async def test_the_silence_that_ends_a_turn_depends_on_the_words(
        said: dict[str, np.ndarray], text: str, low: float, high: float, reason: str) -> None:
    from sayso.agent.fastpath import is_complete_command

    audio, _ = say(said[text])
    events: list[TurnEvent] = []
    stt = ScriptedStt([(0, text)])
    seg = Segmenter(config=SegmenterConfig(), sink=events.append, transcriber=stt.transcribe,
                    is_complete=is_complete_command)
    utts = await run_unpaced(seg, audio)
    assert len(utts) == 1 and utts[0].transcript is not None and utts[0].transcript.text == text
    assert low <= gap_after_speech(events) <= high
    assert next(e for e in events if e.type == "vad-end").data["reason"] == reason


async def test_a_user_who_pauses_mid_sentence_is_not_cut_off(said: dict[str, np.ndarray]) -> None:
    from sayso.agent.fastpath import is_complete_command, plan

    audio, ends = say(said["search for"], 1.0, said["cheap flights"])
    stt = ScriptedStt([(0, "Search for..."), (ends[1] - SAMPLE_RATE // 2, "Search for... cheap flights.")])
    seg = Segmenter(config=SegmenterConfig(), transcriber=stt.transcribe, is_complete=is_complete_command)
    utts = await run_unpaced(seg, audio)
    assert len(utts) == 1
    assert utts[0].transcript is not None
    calls = plan(utts[0].transcript.text)
    assert calls is not None and calls[0].name == "search" and calls[0].args["query"] == "cheap flights"


def test_without_a_transcriber_silence_alone_ends_the_turn(said: dict[str, np.ndarray]) -> None:
    audio, _ = say(said["scroll down"])
    events: list[TurnEvent] = []
    seg = Segmenter(config=SegmenterConfig(), sink=events.append)
    assert len([u for c in chunks(audio) for u in seg.feed(c)] + seg.flush()) == 1
    assert 400 <= gap_after_speech(events) <= 520


async def test_background_noise_neither_starts_nor_holds_a_turn(said: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(7)
    audio, _ = say(said["who painted the mona lisa"])
    t = np.arange(audio.size) / SAMPLE_RATE
    hum = 0.02 * np.sin(2 * np.pi * 50 * t)  # mains hum
    hiss = 0.01 * rng.standard_normal(audio.size)  # fan noise
    noisy = (audio + hum + hiss).astype(np.float32)
    events: list[TurnEvent] = []
    seg = Segmenter(config=SegmenterConfig(), sink=events.append)
    assert len([u for c in chunks(noisy) for u in seg.feed(c)] + seg.flush()) == 1
    assert 400 <= gap_after_speech(events) <= 600  # the noise did not keep the turn open
    clicks = np.zeros(3 * SAMPLE_RATE, np.float32)
    clicks[::SAMPLE_RATE // 3] = 0.9  # a few taps on the desk
    quiet = Segmenter(config=SegmenterConfig())
    assert [u for c in chunks((clicks + hum[:clicks.size] + hiss[:clicks.size]).astype(np.float32))
            for u in quiet.feed(c)] + quiet.flush() == []


async def test_the_assistant_hears_the_final_words_early_and_when_the_user_goes_on(
        said: dict[str, np.ndarray]) -> None:
    audio, ends = say(said["who painted the mona lisa"], 0.3, said["scroll down"])
    stt = ScriptedStt([(0, "who painted the mona lisa"), (ends[1] - 4000, "who painted the mona lisa scroll down")])
    told: list[str | None] = []
    utts: list[Utterance] = []
    seg = Segmenter(config=SegmenterConfig(), transcriber=stt.transcribe,
                    on_final=lambda t: told.append(t.text if t is not None else None))
    for c in chunks(audio):
        utts += await seg.feed_async(c)
        if utts:
            break
    # in the 0.3 s pause: the words so far, then None when speech resumed, then all the words,
    # told before the turn ended
    assert told == ["who painted the mona lisa", None, "who painted the mona lisa scroll down"]
    assert len(utts) == 1 and utts[0].transcript is not None
    assert utts[0].transcript.text == told[-1]


async def test_an_unfinished_request_does_not_start_thinking(said: dict[str, np.ndarray]) -> None:
    audio, ends = say(said["search for"], 1.0, said["cheap flights"])
    stt = ScriptedStt([(0, "search for"), (ends[1] - 4000, "search for cheap flights")])
    told: list[str | None] = []
    seg = Segmenter(config=SegmenterConfig(), transcriber=stt.transcribe,
                    on_final=lambda t: told.append(t.text if t is not None else None))
    assert len(await run_unpaced(seg, audio)) == 1
    assert told == ["search for cheap flights"]


def test_any_chunk_size_gives_the_same_turns_at_the_same_samples(phrases: list[np.ndarray]) -> None:
    """Frames are scored as soon as they are complete: the chunking never moves a decision."""
    audio, _ = stream(phrases[:2])
    seen = []
    for step in (37, 320, 512, 4000, audio.size):  # 2.3 ms ... 20 ms, 32 ms, 250 ms, all at once
        events: list[TurnEvent] = []
        seg = Segmenter(config=SegmenterConfig(), sink=events.append)
        for i in range(0, audio.size, step):
            seg.feed(AudioChunk(samples=audio[i:i + step], rate=SAMPLE_RATE))
        seg.flush()
        seen.append([(e.type, e.data["stream_ms"]) for e in events])
    assert len(seen[0]) == 4 and all(s == seen[0] for s in seen)


async def test_a_model_too_slow_for_partials_transcribes_only_in_the_pause(said: dict[str, np.ndarray]) -> None:
    from sayso.audio import segmenter as seg_module

    audio, _ = say(said["who painted the mona lisa"])
    fast, slow = ScriptedStt([(0, "who painted the mona lisa")]), ScriptedStt([(0, "who painted the mona lisa")])
    seg_module._PACE[slow.transcribe] = 2000.0  # its recent runs took 2 s: it does not keep up
    for stt in (fast, slow):
        utts = await run_unpaced(Segmenter(config=SegmenterConfig(), transcriber=stt.transcribe), audio)
        assert len(utts) == 1 and utts[0].transcript is not None
    assert len(fast.calls) >= 3  # partials while speaking, then the pause
    assert slow.calls == [utts[0].audio.frames]  # one run: at 150 ms of silence, on the final audio
