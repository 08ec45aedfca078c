"""A Wyoming speech server hosting sayso's STT and TTS backends (``sayso worker serve``).

Any Wyoming client can use it: sayso's own ``stt/wyoming.py`` / ``tts/wyoming.py``, or Home
Assistant. Backends are reached only through the ``Stt``/``Tts`` Protocols and held in a
``ModelCache``: loaded on first use, unloaded when idle, placed within the memory budget. When
the GPU voice (Chatterbox) cannot be placed, Piper speaks on the CPU (the TTS fallback adapter).

Where the protocol leaves room it behaves like wyoming-piper and wyoming-faster-whisper, because
Home Assistant's clients expect it: audio goes out in 1,024-sample chunks; empty text gets
``audio-stop`` only; an unknown voice name is an error; the connection is closed after a
transcript and after every ``error`` event (HA skips ``error`` and reads until a transcript,
``audio-stop`` or a closed connection). Models load in threads, so ``describe`` is answered at
once even while a model loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk as WyAudioChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.tts import Synthesize

from sayso.audio.convert import convert, to_16k_mono
from sayso.config import Settings
from sayso.errors import AudioError, SaysoError, TtsError, TtsUnavailable
from sayso.tts.base import Tts
from sayso.tts.fallback import FallbackTts, Voice
from sayso.types import AudioChunk, Utterance
from sayso.worker.info import service_info, voice_name
from sayso.worker.memory import (
    MB,
    ModelCache,
    ModelSpec,
    ResourceError,
    budgets_from_settings,
    choose_device,
    ct2_cuda_available,
)
from sayso.wyoming_client import (
    SAYSO_KEY,
    TTS_CHUNK_SAMPLES,
    WIDTH,
    chunk_from_pcm,
    is_loopback,
    pcm_from_chunk,
)

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 5_000

# memory a loaded backend holds (estimates from measurement; the cache budgets with these)
SIZES_MB: dict[str, dict[str, int]] = {
    "piper": {"cpu": 200},
    "espeak": {"cpu": 40},
    "faster-whisper": {"cpu": 300, "cuda": 300},
    "moonshine": {"cpu": 300},
    "transformers": {"cpu": 700, "cuda": 500},
    "chatterbox": {"cuda": 4_500, "cpu": 6_000},
}
LABELS = {"chatterbox": "Chatterbox", "piper": "Piper on the CPU", "espeak": "espeak-ng"}

Factory = Callable[[str, str, str], Awaitable[Any]]  # (kind, name, device) -> a warmed-up backend


class RequestError(SaysoError):
    """The client's request cannot be served as sent (its text, audio or voice)."""

    code = "request.invalid"


async def registry_factory(settings: Settings, kind: str, name: str, device: str) -> Any:
    """Build a backend through the registry (lazy imports) in a thread, and warm it up."""
    from sayso import registry

    # the device the cache placed it on is the device it runs on (its budget is charged there)
    conf = settings.model_copy(update={"stt_device": device}) if kind == "stt" else settings
    backend = await asyncio.to_thread(registry.build, kind, conf, name=name)
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


class CachedTts:
    """A voice held in the ``ModelCache`` for the length of each request (the ``Tts`` protocol).
    A voice the cache cannot place raises ``TtsUnavailable``, so the fallback adapter moves on."""

    def __init__(self, service: SpeechService, name: str) -> None:
        self.service = service
        self.name = name
        self.sample_rate = 24_000 if name == "chatterbox" else 22_050

    @contextlib.asynccontextmanager
    async def _loaded(self) -> AsyncIterator[Tts]:
        try:
            async with self.service.cache.use(self.service.spec("tts", self.name)) as loaded:
                self.sample_rate = int(loaded.model.sample_rate)
                yield loaded.model
        except ResourceError as exc:
            why = f"cannot be loaded ({exc.message[0].lower()}{exc.message[1:].rstrip('.')})"
            raise TtsUnavailable(f"{LABELS.get(self.name, self.name)} {why}.", why=why) from exc

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        async with self._loaded() as tts:
            async for chunk in tts.synthesize(text):
                yield chunk

    async def warmup(self) -> None:
        async with self._loaded():
            pass

    async def close(self) -> None:
        return None


@dataclass
class SpeechService:
    """The backends one server hosts, loaded through the cache, one request at a time each."""

    settings: Settings
    tts_name: str | None
    stt_name: str | None
    cache: ModelCache
    factory: Factory | None = None
    tts_fallback: str = "piper"
    _locks: dict[str, asyncio.Lock] = field(default_factory=lambda: {"stt": asyncio.Lock(), "tts": asyncio.Lock()})
    _tts: Tts | None = None

    def spec(self, kind: str, name: str) -> ModelSpec[Any]:
        sizes = {d: mb * MB for d, mb in SIZES_MB.get(name, {"cpu": 300}).items()}
        if name == "chatterbox":  # GPU only, unless the CPU was asked for: it is ~250x too slow there
            devices: tuple[str, ...] = ("cpu",) if self.settings.chatterbox_device == "cpu" else ("cuda",)
        elif kind == "stt" and self.settings.stt_device != "cpu" and name != "moonshine":  # CPU only
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

    @property
    def tts(self) -> Tts:
        """The served voice; when it is not Piper, Piper on the CPU is its fallback."""
        assert self.tts_name
        if self._tts is None:
            names = [self.tts_name] + ([self.tts_fallback] if self.tts_name != self.tts_fallback else [])
            voices = [CachedTts(self, n) for n in names]
            self._tts = FallbackTts([Voice(LABELS.get(v.name, v.name), _ready(v)) for v in voices],
                                    retry_s=self.settings.wyoming_retry_s)
        return self._tts

    def voice(self) -> str | None:
        """The name this server gives its voice in ``info`` (None without one)."""
        return voice_name(self.settings, self.tts_name) if self.tts_name else None

    def info(self):  # -> wyoming.info.Info
        return service_info(self.settings, stt=self.stt_name, tts=self.tts_name, version=_version())

    async def preload(self) -> None:
        if self.stt_name:
            await self.cache.get(self.spec("stt", self.stt_name))
        if self.tts_name:
            await self.tts.warmup()


def _ready(tts: Tts) -> Callable[[], Awaitable[Tts]]:
    async def build() -> Tts:
        return tts

    return build


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sayso")
    except PackageNotFoundError:
        return "0"


def to_stt_input(parts: list[bytes], *, rate: int, width: int, channels: int) -> AudioChunk:
    """All received audio-chunk payloads -> 16 kHz mono float32 (what Stt.transcribe expects)."""
    return to_16k_mono(chunk_from_pcm(b"".join(parts), rate=rate, width=width, channels=channels))


class SpeechHandler(AsyncEventHandler):
    """One client connection: answers describe, synthesize and transcribe events.

    ``handle_event`` returns False (the connection closes) after a transcript and after an error.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 service: SpeechService) -> None:
        super().__init__(reader, writer)
        self.service = service
        self._audio: list[bytes] | None = None
        self._format = (16_000, 2, 1)
        self._bytes = 0
        self._language = "en"
        self._refused: SaysoError | None = None  # bad audio: answered at audio-stop

    async def handle_event(self, event: Event) -> bool:
        try:
            if Describe.is_type(event.type):
                await self.write_event(self.service.info().event())
            elif Ping.is_type(event.type):
                await self.write_event(Pong(text=Ping.from_event(event).text).event())
            elif Synthesize.is_type(event.type):
                synthesize = Synthesize.from_event(event)
                await self._synthesize(synthesize.text, synthesize.voice.name if synthesize.voice else None)
            elif Transcribe.is_type(event.type):
                self._language = Transcribe.from_event(event).language or "en"
            elif AudioStart.is_type(event.type):
                start = AudioStart.from_event(event)
                self._start((start.rate, start.width, start.channels))
            elif WyAudioChunk.is_type(event.type):
                self._receive(WyAudioChunk.from_event(event))
            elif AudioStop.is_type(event.type) and (self._audio is not None or self._refused):
                refused, self._refused = self._refused, None
                if refused is not None:
                    raise refused
                parts, self._audio = self._audio or [], None
                await self._transcribe(parts)
                return False  # like wyoming-faster-whisper: one transcript per connection
            else:
                log.debug("ignoring event %s", event.type)
        except SaysoError as exc:
            log.warning("request refused: %s", exc.one_line())
            await self.write_event(Error(text=exc.one_line(), code=exc.code).event())
            return False
        except (KeyError, TypeError, ValueError) as exc:  # an event without the fields it needs
            log.warning("malformed %s event: %s", event.type, exc)
            await self.write_event(Error(text=f"The {event.type} event is malformed ({type(exc).__name__}: "
                                              f"{exc}).", code="request.malformed").event())
            return False
        except Exception as exc:  # the connection boundary: report, close, keep serving others
            log.exception("request failed")
            await self.write_event(Error(text=f"The sayso speech worker failed: {type(exc).__name__}: "
                                              f"{exc}", code="worker.failed").event())
            return False
        return True

    def _start(self, fmt: tuple[int, int, int]) -> None:
        self._format, self._audio, self._bytes = fmt, [], 0
        rate, width, channels = fmt
        try:
            chunk_from_pcm(b"", rate=rate, width=width, channels=channels)  # a format we read?
        except AudioError as exc:  # answered at audio-stop, after the client has sent its audio
            self._refused, self._audio = RequestError(exc.message, code=exc.code), None

    def _receive(self, chunk: WyAudioChunk) -> None:
        if self._refused is not None:
            return
        if self._audio is None:  # audio without audio-start: take its format
            self._start((chunk.rate, chunk.width, chunk.channels))
            if self._audio is None:
                return
        self._audio.append(chunk.audio)
        self._bytes += len(chunk.audio)
        rate, width, channels = self._format
        limit = self.service.settings.stt_max_audio_s
        if self._bytes > limit * rate * width * channels:
            self._audio = None
            self._refused = RequestError(f"The audio is longer than the {limit:.0f} s this server "
                                         "transcribes at once.", code="audio.too_long")

    async def _transcribe(self, parts: list[bytes]) -> None:
        if not self.service.stt_name:
            raise RequestError("This server has no speech-to-text model; it only speaks.",
                               code="stt.unavailable")
        rate, width, channels = self._format
        audio = to_stt_input(parts, rate=rate, width=width, channels=channels)
        utt = Utterance(audio=audio, end_ms=audio.duration_s * 1000, speech_ms=audio.duration_s * 1000)
        t0 = time.monotonic()
        async with self.service._locks["stt"], self.service.cache.use(
                self.service.spec("stt", self.service.stt_name)) as loaded:
            result = await loaded.model.transcribe(utt)
        elapsed = (time.monotonic() - t0) * 1000
        event = Transcript(text=result.text, language=result.language or self._language).event()
        event.data[SAYSO_KEY] = {
            "no_speech_prob": result.no_speech_prob, "avg_logprob": result.avg_logprob,
            "audio_s": round(audio.duration_s, 3), "elapsed_ms": round(elapsed, 1),
            "words": [[w.text, w.start_s, w.end_s, w.probability] for w in result.words],
        }
        log.info("transcribed %.1f s of audio in %.0f ms", audio.duration_s, elapsed)
        await self.write_event(event)

    async def _synthesize(self, text: str, voice: str | None) -> None:
        if not self.service.tts_name:
            raise RequestError("This server has no text-to-speech voice; it only transcribes.",
                               code="tts.unavailable")
        served = self.service.voice()
        if voice is not None and voice not in (served, self.service.tts_name):
            raise RequestError(f"There is no voice named '{voice}' here; this server speaks with "
                               f"'{served}'.", code="tts.voice_unknown")
        if len(text) > MAX_TEXT_CHARS:
            raise RequestError(f"The text is {len(text):,} characters long; this server speaks at "
                               f"most {MAX_TEXT_CHARS:,} at once.", code="tts.too_long")
        t0 = time.monotonic()
        rate: int | None = None
        if text.strip():
            async with self.service._locks["tts"]:
                try:
                    async for chunk in self.service.tts.synthesize(text):
                        if chunk.frames == 0:
                            continue
                        if rate is not None and chunk.rate != rate:
                            chunk = convert(chunk, rate)
                        pcm, chunk_rate = pcm_from_chunk(chunk)
                        if rate is None:
                            rate = chunk_rate
                            log.debug("first audio after %.0f ms", (time.monotonic() - t0) * 1000)
                            await self.write_event(AudioStart(rate=rate, width=WIDTH, channels=1).event())
                        step = TTS_CHUNK_SAMPLES * WIDTH
                        for i in range(0, len(pcm), step):
                            await self.write_event(WyAudioChunk(rate=rate, width=WIDTH, channels=1,
                                                                audio=pcm[i:i + step]).event())
                except TtsUnavailable as exc:  # the last voice could not speak: the server's fault
                    raise TtsError(exc.message, code="tts.failed") from exc
        await self.write_event(AudioStop().event())  # empty text: audio-stop only, as wyoming-piper
        log.info("synthesized %d characters in %.0f ms", len(text), (time.monotonic() - t0) * 1000)


async def serve(
    settings: Settings,
    *,
    tts: str | None,
    stt: str | None,
    host: str,
    port: int,
    preload: bool = False,
    factory: Factory | None = None,
) -> None:
    """Run the server until cancelled or SIGTERM."""
    if not tts and not stt:
        raise SaysoError("Give the worker something to serve: --tts NAME and/or --stt NAME.",
                         code="config.invalid")
    if not is_loopback(host):
        log.warning("Wyoming has no authentication: anyone who can reach %s:%d can use this server.",
                    host, port)
    if tts == "chatterbox" or stt == "transformers":  # torch in this process: cap its GPU share
        from sayso.worker.memory import init_torch_process

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
