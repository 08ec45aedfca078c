"""A Wyoming speech server hosting sayso's STT and TTS backends (``sayso worker serve``).

Any Wyoming client can use it: sayso's own ``stt/wyoming.py`` / ``tts/wyoming.py``, or Home
Assistant. Backends are reached only through the ``Stt``/``Tts`` Protocols and held in a
``ModelCache``: loaded on first use, unloaded when idle, placed within the memory budget. When
the GPU voice (Chatterbox) cannot be placed, the server speaks with Piper on the CPU and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk as WyAudioChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.tts import Synthesize

from sayso.config import Settings
from sayso.errors import SaysoError
from sayso.resources import (
    MB,
    ModelCache,
    ModelSpec,
    ResourceError,
    budgets_from_settings,
    choose_device,
    ct2_cuda_available,
)
from sayso.types import Utterance
from sayso.worker import protocol

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 5_000
ATTRIBUTION = Attribution(name="sayso", url="https://github.com/sayso")

# memory a loaded backend holds (estimates from measurement; the cache budgets with these)
SIZES_MB: dict[str, dict[str, int]] = {
    "piper": {"cpu": 200},
    "espeak": {"cpu": 40},
    "faster-whisper": {"cpu": 300, "cuda": 300},
    "transformers": {"cpu": 700, "cuda": 500},
    "chatterbox": {"cuda": 4_500, "cpu": 6_000},
}

Factory = Callable[[str, str], Awaitable[Any]]  # (backend name, device) -> a warmed-up backend


async def registry_factory(settings: Settings, kind: str, name: str, device: str) -> Any:
    """Build a backend through the registry (lazy imports) and warm it up."""
    from sayso import registry

    # the device the cache placed it on is the device it runs on (its budget is charged there)
    conf = settings.model_copy(update={"stt_device": device}) if kind == "stt" else settings
    backend = registry.build(kind, conf, name=name)
    await backend.warmup()
    return backend


async def chatterbox_factory(settings: Settings, device: str) -> Any:
    from sayso.worker.chatterbox import load_chatterbox

    return await load_chatterbox(settings, device=device)


async def _close(backend: Any) -> None:
    """Release a backend: its ``close()``, then its module's ``unload_all()`` when it has one
    (backends that share loaded models process-wide, like faster-whisper, release them there)."""
    close = getattr(backend, "close", None)
    if close is not None:
        await close()
    module = sys.modules.get(type(backend).__module__)
    unload_all = getattr(module, "unload_all", None)
    if callable(unload_all):
        unload_all()


@dataclass
class SpeechService:
    """The backends one server hosts, loaded through the cache, one request at a time each."""

    settings: Settings
    tts_name: str | None
    stt_name: str | None
    cache: ModelCache
    factory: Callable[[str, str, str], Awaitable[Any]] | None = None  # (kind, name, device)
    tts_fallback: str = "piper"
    _locks: dict[str, asyncio.Lock] = field(default_factory=lambda: {"stt": asyncio.Lock(), "tts": asyncio.Lock()})

    def _spec(self, kind: str, name: str) -> ModelSpec[Any]:
        sizes = {d: mb * MB for d, mb in SIZES_MB.get(name, {"cpu": 300}).items()}
        if name == "chatterbox":  # GPU only, unless the CPU was asked for: it is ~250x too slow there
            devices: tuple[str, ...] = ("cpu",) if self.settings.chatterbox_device == "cpu" else ("cuda",)
        elif kind == "stt" and self.settings.stt_device != "cpu":
            probe = ct2_cuda_available if name == "faster-whisper" else None
            gpu = choose_device(self.settings.stt_device, probe=probe).is_gpu
            devices = ("cuda", "cpu") if gpu else ("cpu",)
        else:
            devices = ("cpu",)

        async def load(device: str) -> Any:
            if self.factory is not None:
                return await self.factory(kind, name, device)
            if name == "chatterbox":
                return await chatterbox_factory(self.settings, device)
            return await registry_factory(self.settings, kind, name, device)

        return ModelSpec(key=f"{kind}:{name}", kind=kind, size_bytes=max(sizes.values()),
                         sizes=sizes, load=load, unload=_close, devices=devices)

    @contextlib.asynccontextmanager
    async def tts(self):  # -> AsyncIterator[Loaded[Tts]]
        assert self.tts_name
        async with contextlib.AsyncExitStack() as stack:
            try:
                loaded = await stack.enter_async_context(self.cache.use(self._spec("tts", self.tts_name)))
            except ResourceError as exc:
                if self.tts_name == self.tts_fallback:
                    raise
                log.warning("%s Speaking with %s on the CPU instead.", exc.message, self.tts_fallback)
                loaded = await stack.enter_async_context(
                    self.cache.use(self._spec("tts", self.tts_fallback)))
            yield loaded

    def info(self) -> Info:
        asr, tts = [], []
        if self.stt_name:
            asr.append(AsrProgram(
                name=f"sayso-{self.stt_name}", attribution=ATTRIBUTION, installed=True,
                description=f"sayso speech-to-text ({self.stt_name})", version=_version(),
                models=[AsrModel(name=self.stt_name, attribution=ATTRIBUTION, installed=True,
                                 description=self.stt_name, version=None, languages=["en"])],
            ))
        if self.tts_name:
            tts.append(TtsProgram(
                name=f"sayso-{self.tts_name}", attribution=ATTRIBUTION, installed=True,
                description=f"sayso text-to-speech ({self.tts_name})", version=_version(),
                voices=[TtsVoice(name=self.tts_name, attribution=ATTRIBUTION, installed=True,
                                 description=self.tts_name, version=None, languages=["en"])],
            ))
        return Info(asr=asr, tts=tts)

    async def preload(self) -> None:
        if self.stt_name:
            await self.cache.get(self._spec("stt", self.stt_name))
        if self.tts_name:
            async with self.tts():
                pass


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sayso")
    except PackageNotFoundError:
        return "0"


class SpeechHandler(AsyncEventHandler):
    """One client connection: answers describe, synthesize and transcribe events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 service: SpeechService) -> None:
        super().__init__(reader, writer)
        self.service = service
        self._audio: list[bytes] | None = None
        self._format = (16_000, 2, 1)
        self._bytes = 0
        self._language = "en"

    async def handle_event(self, event: Event) -> bool:
        try:
            if Describe.is_type(event.type):
                await self.write_event(self.service.info().event())
            elif Ping.is_type(event.type):
                await self.write_event(Pong(text=Ping.from_event(event).text).event())
            elif Synthesize.is_type(event.type):
                await self._synthesize(Synthesize.from_event(event).text)
            elif Transcribe.is_type(event.type):
                self._language = Transcribe.from_event(event).language or "en"
            elif AudioStart.is_type(event.type):
                start = AudioStart.from_event(event)
                self._format, self._audio, self._bytes = (start.rate, start.width, start.channels), [], 0
            elif WyAudioChunk.is_type(event.type):
                self._receive(WyAudioChunk.from_event(event))
            elif AudioStop.is_type(event.type) and self._audio is not None:
                parts, self._audio = self._audio, None
                await self._transcribe(parts)
            else:
                log.debug("ignoring event %s", event.type)
        except SaysoError as exc:
            log.warning("request failed: %s", exc.one_line())
            await self.write_event(Error(text=exc.one_line(), code=exc.code).event())
        except Exception as exc:  # the connection boundary: report, keep serving others
            log.exception("request failed")
            await self.write_event(Error(text=f"The speech server failed: {type(exc).__name__}: {exc}",
                                         code="worker.failed").event())
        return True

    def _receive(self, chunk: WyAudioChunk) -> None:
        if self._audio is None:  # audio without audio-start: take its format
            self._format, self._audio, self._bytes = (chunk.rate, chunk.width, chunk.channels), [], 0
        self._audio.append(chunk.audio)
        self._bytes += len(chunk.audio)
        rate, width, channels = self._format
        limit = self.service.settings.stt_max_audio_s
        if self._bytes > limit * rate * width * channels:
            self._audio = None
            raise SaysoError(f"The audio is longer than the {limit:.0f} s this server accepts.",
                             code="audio.too_long")

    async def _transcribe(self, parts: list[bytes]) -> None:
        if not self.service.stt_name:
            raise SaysoError("This speech server has no speech-to-text model.", code="stt.unavailable")
        rate, width, channels = self._format
        audio = protocol.to_stt_input(parts, rate=rate, width=width, channels=channels)
        utt = Utterance(audio=audio, end_ms=audio.duration_s * 1000, speech_ms=audio.duration_s * 1000)
        t0 = time.monotonic()
        async with self.service._locks["stt"], self.service.cache.use(
                self.service._spec("stt", self.service.stt_name)) as loaded:
            result = await loaded.model.transcribe(utt)
        elapsed = (time.monotonic() - t0) * 1000
        event = Transcript(text=result.text, language=result.language or self._language).event()
        event.data[protocol.SAYSO_KEY] = {
            "no_speech_prob": result.no_speech_prob, "avg_logprob": result.avg_logprob,
            "audio_s": round(audio.duration_s, 3), "elapsed_ms": round(elapsed, 1),
            "words": [[w.text, w.start_s, w.end_s, w.probability] for w in result.words],
        }
        log.info("transcribed %.1f s of audio in %.0f ms", audio.duration_s, elapsed)
        await self.write_event(event)

    async def _synthesize(self, text: str) -> None:
        if not self.service.tts_name:
            raise SaysoError("This speech server has no text-to-speech voice.", code="tts.unavailable")
        if len(text) > MAX_TEXT_CHARS:
            raise SaysoError(f"The text is longer than the {MAX_TEXT_CHARS} characters this server "
                             "speaks at once.", code="tts.too_long")
        t0 = time.monotonic()
        rate: int | None = None
        async with self.service._locks["tts"], self.service.tts() as loaded:
            tts = loaded.model
            async for chunk in tts.synthesize(text):
                if chunk.frames == 0:
                    continue
                if rate is not None and chunk.rate != rate:
                    from sayso.audio.convert import convert

                    chunk = convert(chunk, rate)
                pcm, chunk_rate = protocol.pcm_from_chunk(chunk)
                if rate is None:
                    rate = chunk_rate
                    log.debug("first audio after %.0f ms", (time.monotonic() - t0) * 1000)
                    await self.write_event(AudioStart(rate=rate, width=protocol.WIDTH, channels=1).event())
                await self.write_event(WyAudioChunk(rate=rate, width=protocol.WIDTH, channels=1,
                                                    audio=pcm).event())
            if rate is None:  # nothing to say: still a well-formed (empty) stream
                rate = int(getattr(tts, "sample_rate", 22_050))
                await self.write_event(AudioStart(rate=rate, width=protocol.WIDTH, channels=1).event())
        await self.write_event(AudioStop().event())
        log.info("synthesized %d characters in %.0f ms", len(text), (time.monotonic() - t0) * 1000)


async def serve(
    settings: Settings,
    *,
    tts: str | None,
    stt: str | None,
    host: str,
    port: int,
    preload: bool = False,
    factory: Callable[[str, str, str], Awaitable[Any]] | None = None,
) -> None:
    """Run the server until cancelled or SIGTERM."""
    if not tts and not stt:
        raise SaysoError("Give the worker something to serve: --tts NAME and/or --stt NAME.",
                         code="config.invalid")
    if not protocol.is_loopback(host):
        log.warning("Wyoming has no authentication: anyone who can reach %s:%d can use this server.",
                    host, port)
    if tts == "chatterbox" or stt == "transformers":  # torch in this process: cap its GPU share
        from sayso.resources import init_torch_process

        init_torch_process(settings.gpu_memory_fraction)
    cache = ModelCache(budgets_from_settings(settings), idle_unload_s=settings.model_idle_unload_s)
    service = SpeechService(settings=settings, tts_name=tts, stt_name=stt, cache=cache, factory=factory)
    if preload:
        await service.preload()
    server = AsyncTcpServer(host, port)
    try:
        await server.start(partial(SpeechHandler, service=service))
    except OSError as exc:
        why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise SaysoError(f"The worker cannot listen on {host}:{port}: {why}.",
                         code="worker.bind", hint="Choose another --port.") from exc
    cache.start_sweeper()
    log.info("Wyoming speech server listening on tcp://%s:%d (tts=%s, stt=%s)", host, port,
             tts or "-", stt or "-")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
        log.info("Wyoming speech server stopping")
    finally:
        await server.stop()
        await cache.close()
