"""The benchmark's streaming segmenter is wired as the web app's (transcripts, early thinking)."""

from __future__ import annotations

from types import SimpleNamespace

from sayso.bench.components import Parts
from sayso.config import load_settings
from sayso.types import Transcript, Utterance


class _Stt:
    name = "fake"

    async def transcribe(self, utt: Utterance) -> Transcript:
        return Transcript(text="")


def test_the_bench_segmenter_thinks_early_once_the_assistant_exists() -> None:
    told: list = []
    parts = Parts(settings=load_settings(), components=SimpleNamespace(stt=_Stt()), assistant=None,
                  browser=None)
    assert parts.segmenter(None).on_final is None  # built first to load the VAD: no assistant yet
    parts.assistant = SimpleNamespace(speculate=told.append)
    seg = parts.segmenter(None)
    assert seg.on_final is not None and seg.transcriber is not None and seg.is_complete is not None
    seg.on_final(None)
    assert told == [None]
    assert parts.segmenter(None, speculative=False).transcriber is None  # the baseline's
