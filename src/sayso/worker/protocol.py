"""What sayso's Wyoming clients and server share: addresses, PCM conversion, service info.

Wyoming (the Home Assistant voice protocol): one JSON line per event, then optional data and a
binary payload. TTS: ``synthesize`` -> ``audio-start``, ``audio-chunk``..., ``audio-stop``.
STT: ``transcribe``, ``audio-start``, ``audio-chunk``..., ``audio-stop`` -> ``transcript``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from sayso.audio.convert import to_16k_mono, to_int16
from sayso.errors import AudioError, ConfigError
from sayso.types import AudioChunk

SCHEME = "wyoming://"
WIDTH = 2  # sayso always sends 16-bit PCM
STT_CHUNK_FRAMES = 16_000  # 1 s of 16 kHz audio per audio-chunk event
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
    """Wyoming PCM (width 1, 2 or 4 bytes, interleaved channels) -> a sayso chunk (int16 or float)."""
    if width not in (1, 2, 4) or channels < 1:
        raise AudioError(f"Unsupported audio format from the speech server: {width * 8}-bit, "
                         f"{channels} channels.", code="audio.unsupported")
    usable = len(data) - len(data) % (width * channels)
    dtype = {1: np.uint8, 2: np.dtype("<i2"), 4: np.dtype("<i4")}[width]
    arr = np.frombuffer(data[:usable], dtype=dtype)
    if channels > 1:
        arr = arr.reshape(-1, channels)
    if width != 2:
        from sayso.audio.convert import to_float32

        arr = to_float32(arr)
    return AudioChunk(samples=arr, rate=int(rate), channels=channels)


def to_stt_input(parts: list[bytes], *, rate: int, width: int, channels: int) -> AudioChunk:
    """All received audio-chunk payloads -> 16 kHz mono float32 (what Stt.transcribe expects)."""
    chunk = chunk_from_pcm(b"".join(parts), rate=rate, width=width, channels=channels)
    return to_16k_mono(chunk)
