"""Speech-to-text through any Wyoming server (``SAYSO_STT=wyoming://host:port``).

The server may be sayso's own worker (``sayso worker serve --stt faster-whisper``) or a user's
wyoming-faster-whisper on a GPU box. Audio goes as 16 kHz 16-bit mono. A server that cannot be
reached, times out or refuses the audio raises ``SttError`` with one sentence. Whisper's own
confidence (``no_speech_prob``, ``avg_logprob``) and word timings come only from sayso's worker
(in the ``sayso`` key of the transcript); from any other server they are None, not a guess.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from wyoming.asr import Transcribe
from wyoming.asr import Transcript as WyTranscript
from wyoming.audio import AudioChunk as WyAudioChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Info

from sayso.audio.convert import to_16k_mono
from sayso.config import Settings
from sayso.errors import SttError
from sayso.types import SAMPLE_RATE, Transcript, Utterance, Word
from sayso.wyoming_client import (
    SAYSO_KEY,
    STT_CHUNK_FRAMES,
    WIDTH,
    WyomingClient,
    WyomingUnavailable,
    parse_url,
    pcm_from_chunk,
)

log = logging.getLogger(__name__)


class WyomingStt:
    """Stt over the Wyoming protocol."""

    name = "wyoming"

    def __init__(self, *, settings: Settings, url: str | None = None, language: str = "en") -> None:
        self.settings = settings
        self.address = parse_url(url or settings.stt, what="speech-to-text server")
        self.language = language
        self.model = ""  # the server's model name, from describe (warmup)
        self.client = WyomingClient(self.address,
                                    connect_timeout=settings.wyoming_connect_timeout_s,
                                    read_timeout=settings.wyoming_timeout_s)

    def _error(self, why: str) -> SttError:
        return SttError(
            f"The speech-to-text server at {self.address} {why}.",
            code="stt.remote",
            hint=f"Start it (sayso worker serve --stt faster-whisper --port {self.address.port}) "
                 "or set SAYSO_STT=faster-whisper to transcribe on this machine.",
        )

    async def transcribe(self, utt: Utterance) -> Transcript:
        audio = utt.audio
        if audio.rate != SAMPLE_RATE or audio.channels != 1:
            audio = to_16k_mono(audio)
        if audio.duration_s > self.settings.stt_max_audio_s:
            raise SttError(f"The audio is {audio.duration_s:.0f} s long; at most "
                           f"{self.settings.stt_max_audio_s:.0f} s can be transcribed.",
                           code="audio.too_long")
        pcm, _ = pcm_from_chunk(audio)
        t0 = time.monotonic()
        step = STT_CHUNK_FRAMES * WIDTH
        fmt = {"rate": SAMPLE_RATE, "width": WIDTH, "channels": 1}
        events = [Transcribe(language=self.language).event(), AudioStart(**fmt).event(),
                  *(WyAudioChunk(audio=pcm[i:i + step], **fmt).event() for i in range(0, len(pcm), step)),
                  AudioStop().event()]
        answer: Event | None = None
        try:
            async for event in self.client.exchange(events, done=lambda e: WyTranscript.is_type(e.type)):
                answer = event
        except WyomingUnavailable as exc:
            raise self._error(exc.why) from exc
        assert answer is not None and WyTranscript.is_type(answer.type)
        extra: dict[str, Any] = answer.data.get(SAYSO_KEY) or {}
        words = tuple(Word(str(w[0]), float(w[1]), float(w[2]), float(w[3]))
                      for w in extra.get("words", ()) if isinstance(w, list | tuple) and len(w) == 4)
        return Transcript(
            text=(WyTranscript.from_event(answer).text or "").strip(),
            words=words,
            language=answer.data.get("language") or self.language,
            no_speech_prob=_number(extra.get("no_speech_prob")),
            avg_logprob=_number(extra.get("avg_logprob")),
            audio_s=audio.duration_s,
            elapsed_ms=(time.monotonic() - t0) * 1000,
        )

    async def describe(self) -> Info:
        try:
            return await self.client.describe()
        except WyomingUnavailable as exc:
            raise self._error(exc.why) from exc

    async def warmup(self) -> None:
        info = await self.describe()
        if not info.asr:
            offers = "text-to-speech only" if info.tts else "nothing"
            raise self._error(f"offers no speech-to-text model (it offers {offers})")
        models = info.asr[0].models
        self.model = models[0].name if models else info.asr[0].name
        log.info("speech-to-text: %s (%s) at %s", info.asr[0].name, self.model, self.address)

    async def close(self) -> None:
        return None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
