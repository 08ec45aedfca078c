"""Convert any (rate, dtype, channels) audio to 16 kHz mono float32 and back, with soxr."""

from __future__ import annotations

import numpy as np
import soxr

from sayso.errors import AudioError
from sayso.types import SAMPLE_RATE, AudioChunk

MIN_RATE = 4_000
MAX_RATE = 384_000
MAX_CHANNELS = 32


def to_float32(samples: np.ndarray) -> np.ndarray:
    """Any integer or float PCM array -> float32 in [-1, 1]; NaN/inf become 0."""
    arr = np.asarray(samples)
    if arr.dtype.kind == "f":
        out = arr.astype(np.float32, copy=True)
        np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        np.clip(out, -1.0, 1.0, out=out)
        return out
    if arr.dtype == np.uint8:  # 8-bit WAV is unsigned
        return (arr.astype(np.float32) - 128.0) / 128.0
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        scale = float(max(abs(info.min), info.max))
        return (arr.astype(np.float64) / scale).astype(np.float32)
    raise AudioError(f"Unsupported sample type {arr.dtype}.", code="audio.unsupported")


def to_mono(samples: np.ndarray, channels: int | None = None) -> np.ndarray:
    """Average channels. Accepts (frames,), (frames, ch) and the (ch, frames) some callers send."""
    arr = samples
    if arr.ndim == 1:
        return arr
    if arr.ndim != 2:
        raise AudioError(f"Audio has {arr.ndim} dimensions; expected 1 or 2.", code="audio.unsupported")
    if channels is not None and arr.shape[0] == channels and arr.shape[1] != channels:
        arr = arr.T
    elif arr.shape[0] <= MAX_CHANNELS < arr.shape[1]:
        arr = arr.T  # (ch, frames)
    if arr.shape[1] > MAX_CHANNELS:
        raise AudioError(f"Audio has {arr.shape[1]} channels; at most {MAX_CHANNELS} are supported.",
                         code="audio.unsupported")
    return arr.mean(axis=1, dtype=np.float32) if arr.shape[1] > 1 else arr[:, 0]


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples.astype(np.float32, copy=False), rate_in, rate_out, quality="HQ")


def check_rate(rate: int) -> None:
    if not isinstance(rate, int | np.integer) or not MIN_RATE <= int(rate) <= MAX_RATE:
        raise AudioError(
            f"Unsupported sample rate {rate} Hz; expected {MIN_RATE}-{MAX_RATE} Hz.",
            code="audio.unsupported",
        )


def to_16k_mono(chunk: AudioChunk) -> AudioChunk:
    """The form VAD and STT consume: 16 kHz, mono, float32 in [-1, 1]."""
    check_rate(chunk.rate)
    mono = to_mono(to_float32(chunk.samples), chunk.channels)
    out = resample(mono, int(chunk.rate), SAMPLE_RATE)
    np.clip(out, -1.0, 1.0, out=out)
    return AudioChunk(samples=np.ascontiguousarray(out, dtype=np.float32), rate=SAMPLE_RATE, channels=1)


def from_array(rate: int, samples: np.ndarray) -> AudioChunk:
    """Wrap what Gradio's microphone gives, (rate, int16 array of (frames,) or (frames, ch))."""
    arr = np.asarray(samples)
    channels = 1 if arr.ndim == 1 else int(arr.shape[1])
    return AudioChunk(samples=arr, rate=int(rate), channels=channels)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] -> int16 PCM (for WAV files and the UI's audio stream)."""
    arr = np.asarray(samples)
    if arr.dtype == np.int16:
        return arr
    f = to_float32(arr)
    return np.round(f * 32767.0).astype(np.int16)


def convert(chunk: AudioChunk, rate: int, *, mono: bool = True) -> AudioChunk:
    """Resample any chunk to ``rate`` (float32), optionally mixed down to mono."""
    check_rate(chunk.rate)
    check_rate(rate)
    data = to_float32(chunk.samples)
    if mono:
        data = to_mono(data, chunk.channels)
        return AudioChunk(samples=resample(data, int(chunk.rate), rate), rate=rate, channels=1)
    if data.ndim == 1:
        return AudioChunk(samples=resample(data, int(chunk.rate), rate), rate=rate, channels=1)
    out = soxr.resample(data, int(chunk.rate), rate)
    return AudioChunk(samples=out.astype(np.float32), rate=rate, channels=int(data.shape[1]))
