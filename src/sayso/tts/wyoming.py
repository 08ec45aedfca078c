"""Text-to-speech through any Wyoming server (``SAYSO_TTS=wyoming://host:port``).

The server may be sayso's own worker (``sayso worker serve``; Chatterbox on a GPU box) or a
user's wyoming-piper. When the server cannot be reached, or fails before any audio, sayso speaks
with the bundled Piper voice instead, says so once in the log and in ``notice``, and tries the
server again after ``wyoming_retry_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from wyoming.audio import AudioChunk as WyAudioChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize

from sayso.config import Settings
from sayso.errors import SaysoError, TtsError
from sayso.types import AudioChunk
from sayso.worker import protocol

log = logging.getLogger(__name__)


class _Unavailable(Exception):
    """The server could not be used for this request (down, timed out, or refused it)."""


class WyomingTts:
    """Tts over the Wyoming protocol, with Piper as the fallback voice."""

    name = "wyoming"

    def __init__(self, *, settings: Settings, url: str | None = None, fallback: str = "piper",
                 label: str = "Wyoming speech server") -> None:
        self.settings = settings
        self.address = protocol.parse_url(url or settings.tts, what="text-to-speech server")
        self.label = label
        self.sample_rate = 22_050  # updated from the server's audio-start
        self.notice = ""  # one sentence while the fallback voice is speaking
        self._fallback_name = fallback
        self._fallback: Any = None
        self._down_until = 0.0

    # -- the Tts protocol -------------------------------------------------------------------

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        if not text.strip():
            return
        if time.monotonic() >= self._down_until:
            started = False
            try:
                async for chunk in self._remote(text):
                    started = True
                    yield chunk
                if self.notice:
                    log.info("The %s at %s answers again; using it.", self.label, self.address)
                    self.notice = ""
                return
            except _Unavailable as exc:
                self._mark_down(str(exc))
                if started:
                    raise TtsError(f"The {self.label} at {self.address} stopped in the middle of "
                                   "a sentence.", code="tts.remote") from exc
        fallback = await self._get_fallback()
        async for chunk in fallback.synthesize(text):
            yield chunk

    async def warmup(self) -> None:
        try:
            info = await self.describe()
        except _Unavailable as exc:
            self._mark_down(str(exc))
            await self._get_fallback()
            return
        if not info.tts:
            log.warning("The %s at %s offers no text-to-speech voice.", self.label, self.address)

    async def close(self) -> None:
        if self._fallback is not None:
            await self._fallback.close()

    # -- wire --------------------------------------------------------------------------------

    def _client(self) -> AsyncTcpClient:
        return AsyncTcpClient(self.address.host, self.address.port,
                              connect_timeout=self.settings.wyoming_connect_timeout_s,
                              read_timeout=self.settings.wyoming_timeout_s)

    async def describe(self) -> Info:
        """The server's ``info`` (its programs and voices)."""
        try:
            async with self._client() as client:
                await client.write_event(Describe().event())
                while True:
                    event = await client.read_event()
                    if event is None:
                        raise _Unavailable("it closed the connection")
                    if Info.is_type(event.type):
                        return Info.from_event(event)
        except (OSError, TimeoutError) as exc:
            raise _Unavailable(_why(exc)) from exc

    async def _remote(self, text: str) -> AsyncIterator[AudioChunk]:
        fmt: tuple[int, int, int] | None = None
        try:
            async with self._client() as client:
                await client.write_event(Synthesize(text=text).event())
                while True:
                    event = await client.read_event()
                    if event is None:
                        raise _Unavailable("it closed the connection")
                    if AudioStart.is_type(event.type):
                        start = AudioStart.from_event(event)
                        fmt = (start.rate, start.width, start.channels)
                        self.sample_rate = start.rate
                    elif WyAudioChunk.is_type(event.type):
                        wy = WyAudioChunk.from_event(event)
                        rate, width, channels = fmt or (wy.rate, wy.width, wy.channels)
                        chunk = protocol.chunk_from_pcm(wy.audio, rate=rate, width=width, channels=channels)
                        if chunk.frames:
                            yield _mono_int16(chunk)
                    elif AudioStop.is_type(event.type):
                        return
                    elif Error.is_type(event.type):
                        err = Error.from_event(event)
                        raise _Unavailable(f"it refused the request: {err.text}")
        except (OSError, TimeoutError) as exc:
            raise _Unavailable(_why(exc)) from exc
        except SaysoError as exc:  # e.g. an audio format we cannot read
            raise _Unavailable(exc.message) from exc

    # -- fallback ----------------------------------------------------------------------------

    def _mark_down(self, why: str) -> None:
        self._down_until = time.monotonic() + self.settings.wyoming_retry_s
        sentence = (f"The {self.label} at {self.address} is not available ({why}), so the "
                    f"bundled {self._fallback_name.capitalize()} voice is speaking instead.")
        if sentence != self.notice:
            log.warning("%s", sentence)
        self.notice = sentence

    async def _get_fallback(self) -> Any:
        if self._fallback is None:
            from sayso import registry

            try:
                fallback = registry.build("tts", self.settings, name=self._fallback_name)
                await fallback.warmup()
            except SaysoError as exc:
                raise TtsError(f"The {self.label} at {self.address} is not available and the "
                               f"{self._fallback_name} fallback voice could not start: {exc.message}",
                               code="tts.remote") from exc
            self._fallback = fallback
        return self._fallback


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "it did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return getattr(exc, "strerror", None) or type(exc).__name__


def _mono_int16(chunk: AudioChunk) -> AudioChunk:
    if chunk.channels == 1 and chunk.samples.dtype.kind == "i" and chunk.samples.itemsize == 2:
        return chunk
    pcm, rate = protocol.pcm_from_chunk(chunk)
    import numpy as np

    return AudioChunk(samples=np.frombuffer(pcm, dtype="<i2"), rate=rate, channels=1)
