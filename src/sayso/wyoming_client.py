"""Wyoming, the Home Assistant voice protocol: addresses, PCM conversion and one client helper.

One JSON line per event, then optional data and a binary payload. TTS: ``synthesize`` ->
``audio-start``, ``audio-chunk``..., ``audio-stop``. STT: ``transcribe``, ``audio-start``,
``audio-chunk``..., ``audio-stop`` -> ``transcript``. ``describe`` -> ``info`` says what a server
offers. Used by the STT and TTS clients, ``sayso doctor``, ``sayso worker ping`` and the worker
itself; it imports nothing of the worker.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info

from sayso.audio.convert import to_int16
from sayso.errors import AudioError, ConfigError
from sayso.types import AudioChunk

SCHEME = "wyoming://"
WIDTH = 2  # sayso always sends 16-bit PCM
STT_CHUNK_FRAMES = 16_000  # 1 s of 16 kHz audio per audio-chunk event
TTS_CHUNK_SAMPLES = 1_024  # what wyoming-piper sends per audio-chunk event
SAYSO_KEY = "sayso"  # extra transcript details ride in this key of the event data


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{SCHEME}{self}"


def parse_url(url: str, *, what: str = "speech server") -> Address:
    """``wyoming://host:port`` (or ``tcp://host:port``) -> Address, else one clear ConfigError."""
    value = (url or "").strip()
    if value.startswith("tcp://"):
        value = SCHEME + value[len("tcp://"):]
    if not value.startswith(SCHEME):
        raise ConfigError(f"The {what} address '{url}' must look like wyoming://HOST:PORT.")
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None or not 0 < port < 65536 or (parts.path not in ("", "/")):
        raise ConfigError(f"The {what} address '{url}' must look like wyoming://HOST:PORT "
                          "with a port between 1 and 65535.")
    return Address(host, int(port))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pcm_from_chunk(chunk: AudioChunk) -> tuple[bytes, int]:
    """A sayso chunk -> (16-bit mono little-endian PCM bytes, rate)."""
    samples = np.asarray(chunk.samples)
    if (samples.ndim == 2 and samples.shape[1] > 1) or chunk.channels > 1:
        from sayso.audio.convert import to_float32, to_mono

        samples = to_mono(to_float32(samples), chunk.channels)
    elif samples.ndim == 2:
        samples = samples[:, 0]
    pcm = to_int16(samples).astype("<i2", copy=False)
    return pcm.tobytes(), int(chunk.rate)


def chunk_from_pcm(data: bytes, *, rate: int, width: int, channels: int) -> AudioChunk:
    """Wyoming PCM (8, 16 or 32-bit, interleaved channels) -> a sayso chunk (int16 or float32);
    any other format is an AudioError naming it."""
    if width not in (1, 2, 4) or channels < 1 or rate <= 0:
        raise AudioError(f"The audio is {width * 8}-bit with {channels} channel(s) at {rate} Hz; "
                         "Wyoming audio must be 8, 16 or 32-bit PCM.", code="audio.unsupported")
    usable = len(data) - len(data) % (width * channels)
    dtype = {1: np.uint8, 2: np.dtype("<i2"), 4: np.dtype("<i4")}[width]
    arr = np.frombuffer(data[:usable], dtype=dtype)
    if channels > 1:
        arr = arr.reshape(-1, channels)
    if width != 2:
        from sayso.audio.convert import to_float32

        arr = to_float32(arr)
    return AudioChunk(samples=arr, rate=int(rate), channels=channels)


def mono_int16(chunk: AudioChunk) -> AudioChunk:
    """``chunk`` as int16 mono (what the ``Tts`` protocol yields)."""
    if chunk.channels == 1 and chunk.samples.ndim == 1 and chunk.samples.dtype == np.int16:
        return chunk
    pcm, rate = pcm_from_chunk(chunk)
    return AudioChunk(samples=np.frombuffer(pcm, dtype="<i2"), rate=rate, channels=1)


class WyomingUnavailable(Exception):  # noqa: N818  (callers map it to their stage's error)
    """A server could not serve one request. ``why`` completes "The server at X ..."."""

    def __init__(self, why: str, *, refused: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.refused = refused  # it answered with an ``error`` event


class WyomingClient:
    """One request per connection, as Home Assistant does: write events, read until the answer."""

    def __init__(self, address: Address, *, connect_timeout: float, read_timeout: float) -> None:
        self.address = address
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    async def exchange(self, events: Iterable[Event], *,
                       done: Callable[[Event], bool]) -> AsyncIterator[Event]:
        """Send ``events`` (wyoming ``Event``s), then yield every event read until ``done(event)``
        (that one included). Raises WyomingUnavailable: not reachable, timed out, closed early,
        or an ``error`` event."""
        client = AsyncTcpClient(self.address.host, self.address.port,
                                connect_timeout=self.connect_timeout, read_timeout=self.read_timeout)
        try:
            async with client:
                for event in events:
                    await client.write_event(event)
                while True:
                    event = await client.read_event()
                    if event is None:
                        raise WyomingUnavailable("closed the connection before answering")
                    if Error.is_type(event.type):
                        err = Error.from_event(event)
                        raise WyomingUnavailable(f"refused the request: {err.text}", refused=True)
                    yield event
                    if done(event):
                        return
        except TimeoutError as exc:
            raise WyomingUnavailable(f"did not answer within {self.read_timeout:g} s") from exc
        except ConnectionRefusedError as exc:
            raise WyomingUnavailable("is not running (connection refused)") from exc
        except OSError as exc:
            raise WyomingUnavailable(f"is not reachable ({exc.strerror or type(exc).__name__})") from exc

    async def describe(self) -> Info:
        """What the server offers (``describe`` -> ``info``)."""
        async for event in self.exchange([Describe().event()], done=lambda e: Info.is_type(e.type)):
            if Info.is_type(event.type):
                return Info.from_event(event)
        raise WyomingUnavailable("closed the connection before answering")
