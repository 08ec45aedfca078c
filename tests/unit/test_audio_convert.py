from __future__ import annotations

import numpy as np
import pytest

from sayso.audio.convert import convert, from_array, to_16k_mono, to_int16
from sayso.audio.io import read_audio, wav_bytes, write_wav
from sayso.errors import AudioError
from sayso.types import AudioChunk


def tone(rate: int, seconds: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_freq(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spec))])


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("stereo", [False, True])
@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_any_input_becomes_16k_mono_float(rate: int, stereo: bool, dtype: str) -> None:
    x = tone(rate)
    if dtype == "int16":
        x = (x * 32767).astype(np.int16)
    if stereo:
        x = np.stack([x, x], axis=1)
    out = to_16k_mono(from_array(rate, x))
    assert out.rate == 16000 and out.channels == 1 and out.samples.dtype == np.float32
    assert out.samples.ndim == 1
    assert abs(len(out.samples) - 8000) <= 2  # duration preserved
    assert abs(dominant_freq(out.samples, 16000) - 440) < 5  # pitch preserved
    assert 0.45 < np.abs(out.samples).max() <= 0.52  # level preserved, not normalised


def test_nan_and_overrange_are_sanitised() -> None:
    x = tone(16000)
    x[::7] = np.nan
    x[1] = 5.0
    out = to_16k_mono(AudioChunk(x, 16000, 1))
    assert np.isfinite(out.samples).all() and np.abs(out.samples).max() <= 1.0


def test_bad_rates_and_channels_are_refused() -> None:
    with pytest.raises(AudioError, match="sample rate"):
        to_16k_mono(AudioChunk(tone(16000), 0, 1))
    with pytest.raises(AudioError, match="channels"):
        to_16k_mono(AudioChunk(np.zeros((100, 40), np.float32), 16000, 40))


def test_six_channels_and_96k_convert() -> None:
    x = np.repeat(tone(96000)[:, None], 6, axis=1)
    out = to_16k_mono(AudioChunk(x, 96000, 6))
    assert out.rate == 16000 and abs(len(out.samples) - 8000) <= 2


def test_roundtrip_back_to_output_rate(tmp_path) -> None:
    mono = to_16k_mono(AudioChunk(tone(48000), 48000, 1))
    back = convert(mono, 22050)
    assert back.rate == 22050 and abs(back.frames - 11025) <= 2
    path = write_wav(tmp_path / "x.wav", back)
    read = read_audio(path)
    assert read.rate == 22050 and read.samples.dtype == np.int16
    assert wav_bytes(back)[:4] == b"RIFF"
    assert to_int16(np.array([1.0, -1.0], np.float32)).tolist() == [32767, -32767]


@pytest.mark.parametrize(
    ("payload", "code"),
    [(b"", "audio.empty"), (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio.corrupt"), (b"hello, not audio" * 100, "audio.corrupt")],
)
def test_bad_files_give_one_clear_error(tmp_path, payload: bytes, code: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(payload)
    with pytest.raises(AudioError) as info:
        read_audio(path)
    assert info.value.code == code
    assert "\n" not in info.value.one_line()


def test_too_long_is_refused(tmp_path) -> None:
    path = write_wav(tmp_path / "long.wav", AudioChunk(np.zeros(16000 * 20, np.int16), 16000, 1))
    with pytest.raises(AudioError, match="limit is 10 s"):
        read_audio(path, max_seconds=10)
