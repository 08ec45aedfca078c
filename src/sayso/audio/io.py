"""Read and write audio files: WAV/FLAC/OGG via libsndfile, anything else via ffmpeg."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from sayso.audio.convert import check_rate, to_int16
from sayso.errors import AudioError
from sayso.types import AudioChunk

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_SECONDS = 600.0
FFMPEG_TIMEOUT_S = 60.0


def read_audio(
    source: str | Path | bytes,
    *,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_bytes: int = MAX_FILE_BYTES,
) -> AudioChunk:
    """Decode a file (or bytes) into an AudioChunk at its own rate and channel count.

    Raises AudioError with a one-sentence message for empty, corrupt, huge or unsupported input.
    """
    name = "the audio" if isinstance(source, bytes) else f"'{Path(source).name}'"
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise AudioError(f"No audio file at {path}.", code="audio.missing")
        size = path.stat().st_size
        if size > max_bytes:
            raise AudioError(
                f"{name} is {size / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB.",
                code="audio.too_large",
            )
        data = path.read_bytes()
    if len(data) == 0:
        raise AudioError(f"{name} is empty.", code="audio.empty")
    if len(data) > max_bytes:
        raise AudioError(
            f"{name} is {len(data) / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB.",
            code="audio.too_large",
        )
    try:
        chunk = _read_soundfile(data, max_seconds)
    except _NotSoundfile:
        chunk = _read_ffmpeg(data, name, max_seconds)
    if chunk.frames == 0:
        raise AudioError(f"{name} contains no audio samples.", code="audio.empty")
    return chunk


class _NotSoundfile(Exception):
    pass


def _read_soundfile(data: bytes, max_seconds: float) -> AudioChunk:
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate, channels, frames = f.samplerate, f.channels, f.frames
            check_rate(rate)
            if frames / rate > max_seconds:
                raise AudioError(
                    f"The audio is {frames / rate:.0f} s long; the limit is {max_seconds:.0f} s.",
                    code="audio.too_long",
                )
            subtype = f.subtype
            dtype = "int16" if subtype in ("PCM_16", "PCM_S8", "PCM_U8") else "float32"
            samples = f.read(dtype=dtype, always_2d=False)
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise _NotSoundfile(str(exc)) from exc
    return AudioChunk(samples=samples, rate=int(rate), channels=int(channels))


def _read_ffmpeg(data: bytes, name: str, max_seconds: float) -> AudioChunk:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioError(
            f"{name} is not a WAV, FLAC or OGG file, and ffmpeg is not installed to decode it.",
            code="audio.unsupported",
            hint="Install it with: sudo apt-get install ffmpeg",
        )
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "pipe:0",
           "-t", str(max_seconds), "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1"]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AudioError(f"Decoding {name} took too long.", code="audio.corrupt") from exc
    if proc.returncode != 0 or not proc.stdout:
        log.debug("ffmpeg failed: %s", proc.stderr[-300:])
        raise AudioError(f"{name} is not audio sayso can read (corrupt or unsupported format).",
                         code="audio.corrupt")
    samples = np.frombuffer(proc.stdout, dtype=np.int16).copy()
    return AudioChunk(samples=samples, rate=16000, channels=1)


def wav_bytes(chunk: AudioChunk) -> bytes:
    """16-bit PCM WAV bytes of a chunk (what the UI streams, sentence by sentence)."""
    buf = io.BytesIO()
    samples = to_int16(chunk.samples)
    sf.write(buf, samples, chunk.rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def write_wav(path: str | Path, chunk: AudioChunk) -> Path:
    """Write a chunk as 16-bit PCM WAV."""
    out = Path(path)
    try:
        out.write_bytes(wav_bytes(chunk))
    except OSError as exc:
        raise AudioError(f"Could not write {out}: {exc.strerror}.", code="audio.write_failed") from exc
    return out
