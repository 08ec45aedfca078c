"""Text-to-speech through any Wyoming server (``SAYSO_TTS=wyoming://host:port``).

The server may be sayso's own worker (``sayso worker serve``; Chatterbox on a GPU box) or a
user's wyoming-piper. ``WyomingTts`` is one remote voice: before its first request (and again
after a failure) it asks the server what it offers (``describe``), so a server without a voice is
known at once instead of after a read timeout. A request the server cannot serve raises
``TtsUnavailable``; :func:`sayso.tts.factory.build_tts` wraps it in the fallback adapter so that
the bundled Piper voice speaks instead.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from wyoming.audio import AudioChunk as WyAudioChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.tts import Synthesize, SynthesizeVoice

from sayso.config import Settings
from sayso.errors import ConfigError, SaysoError, TtsUnavailable
from sayso.types import AudioChunk
from sayso.wyoming_client import (
    WyomingClient,
    WyomingUnavailable,
    chunk_from_pcm,
    mono_int16,
    parse_url,
)

log = logging.getLogger(__name__)


class WyomingTts:
    """One voice on a Wyoming server (the ``Tts`` protocol); no fallback of its own."""

    name = "wyoming"

    def __init__(self, *, settings: Settings, url: str | None = None, voice: str | None = None,
                 rate: float | None = None, label: str = "Wyoming speech server",
                 start_hint: str = "sayso worker serve --tts piper") -> None:
        self.settings = settings
        self.address = parse_url(url or settings.tts, what="text-to-speech server")
        self.label = f"The {label} at {self.address}"
        if rate is not None and rate != 1.0:
            raise ConfigError(f"{self.label} cannot change its speaking rate (Wyoming has no rate "
                              "setting).", code="tts.rate",
                              hint="Leave out --rate, or speak with SAYSO_TTS=piper.")
        self.voice = voice or None
        self.sample_rate = 22_050  # updated from the server's audio-start
        self.start_hint = (f"Start it ({start_hint} --port {self.address.port}) or set "
                           "SAYSO_TTS=piper to speak on this machine.")
        self.client = WyomingClient(self.address,
                                    connect_timeout=settings.wyoming_connect_timeout_s,
                                    read_timeout=settings.wyoming_timeout_s)
        self._checked = False  # the server said it offers a voice (asked again after a failure)

    def _unavailable(self, why: str) -> TtsUnavailable:
        down = why.startswith(("is not running", "is not reachable"))
        hint = self.start_hint if down else "Set SAYSO_TTS=piper to speak on this machine."
        return TtsUnavailable(f"{self.label} {why}.", why=why, code="tts.remote", hint=hint)

    async def _check(self) -> None:
        if self._checked:
            return
        try:
            info = await self.client.describe()
        except WyomingUnavailable as exc:
            raise self._unavailable(exc.why) from exc
        voices = [v.name for program in info.tts for v in program.voices]
        if not info.tts:
            offers = "speech-to-text only" if info.asr else "nothing"
            raise self._unavailable(f"offers no text-to-speech voice (it offers {offers})")
        if self.voice is not None and voices and self.voice not in voices:
            raise self._unavailable(f"has no voice named '{self.voice}'")
        self._checked = True

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        if not text.strip():
            return
        try:
            await self._check()
            voice = SynthesizeVoice(name=self.voice) if self.voice else None
            fmt: tuple[int, int, int] | None = None
            async for event in self.client.exchange([Synthesize(text=text, voice=voice).event()],
                                                    done=lambda e: AudioStop.is_type(e.type)):
                if AudioStart.is_type(event.type):
                    start = AudioStart.from_event(event)
                    fmt = (start.rate, start.width, start.channels)
                    self.sample_rate = start.rate
                elif WyAudioChunk.is_type(event.type):
                    wy = WyAudioChunk.from_event(event)
                    rate, width, channels = fmt or (wy.rate, wy.width, wy.channels)
                    chunk = chunk_from_pcm(wy.audio, rate=rate, width=width, channels=channels)
                    if chunk.frames:
                        yield mono_int16(chunk)
        except WyomingUnavailable as exc:
            self._checked = False
            raise self._unavailable(exc.why) from exc
        except TtsUnavailable:
            self._checked = False
            raise
        except SaysoError as exc:  # e.g. an audio format we cannot read
            self._checked = False
            raise self._unavailable(f"sent audio sayso cannot play ({exc.message.rstrip('.')})") from exc

    async def warmup(self) -> None:
        await self._check()

    async def close(self) -> None:
        return None

