"""espeak-ng in-process (the fallback voice): the library and data from ``espeakng-loader``.

Robotic but tiny and fast (tens of milliseconds per reply, ~30 MB). Used when Piper cannot be
loaded (see :func:`sayso.tts.factory.build_tts`), or chosen with ``SAYSO_TTS=espeak``; the
voice is en-us unless a script names another (``EspeakTts(voice="en-gb-x-rp")``).
The C library keeps global state, so every call goes through one process-wide lock.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from sayso.config import Settings
from sayso.errors import ConfigError, TtsError
from sayso.tts.base import LocalTts
from sayso.tts.sentences import split_text
from sayso.types import AudioChunk

log = logging.getLogger(__name__)

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
POS_CHARACTER = 1
ESPEAK_RATE = 1
DEFAULT_WPM = 175
DEFAULT_VOICE = "en-us"

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Lib:
    """The loaded library, initialised once per process."""

    lock = threading.Lock()
    lib: Any = None
    rate: int = 22050
    buf: list[np.ndarray] = []
    callback: Any = None
    voice: str = ""


def _on_audio(wav: Any, n: int, _events: Any) -> int:
    if n > 0 and wav:
        _Lib.buf.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
    return 0


def _library() -> Any:
    """Load and initialise libespeak-ng (call with ``_Lib.lock`` held)."""
    if _Lib.lib is not None:
        return _Lib.lib
    try:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path()
    except (ImportError, OSError, RuntimeError) as exc:
        raise ConfigError(f"The espeak-ng library could not be loaded: {exc}.", code="tts.load_failed",
                          hint="Reinstall with: .venv/bin/pip install espeakng-loader==0.2.4") from exc
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), 0)
    if rate <= 0:
        raise ConfigError("The espeak-ng library did not initialise (missing data?).", code="tts.load_failed")
    _Lib.callback = _CALLBACK(_on_audio)  # keep a reference: C holds the pointer
    lib.espeak_SetSynthCallback(_Lib.callback)
    _Lib.lib, _Lib.rate = lib, int(rate)
    return lib


def version() -> str:
    with _Lib.lock:
        lib = _library()
        raw = lib.espeak_Info(None)
    return raw.decode() if raw else "?"


PHONEMES_IPA = 0x02  # espeak_TextToPhonemes: IPA as UTF-8, no separators


def text_to_phonemes(text: str, voice: str = DEFAULT_VOICE) -> str:
    """The IPA espeak-ng would speak for ``text`` (no audio; ~0.1-0.2 ms for a short phrase).

    Words are separated by spaces; stress and length marks are kept. Raises ConfigError when
    the library cannot be loaded.
    """
    data = ctypes.create_string_buffer(text.encode("utf-8", "replace") + b"\0")
    out: list[str] = []
    with _Lib.lock:
        lib = _library()
        if lib.espeak_TextToPhonemes.restype is not ctypes.c_char_p:
            lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
            lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        if _Lib.voice != voice:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ConfigError(f"espeak-ng has no voice '{voice}'.", code="tts.voice_missing")
            _Lib.voice = voice
        ptr = ctypes.c_void_p(ctypes.addressof(data))
        while ptr.value:  # one clause per call; the library moves the pointer on (NULL at the end)
            raw = lib.espeak_TextToPhonemes(ctypes.byref(ptr), ESPEAK_CHARS_UTF8, PHONEMES_IPA)
            if raw:
                out.append(raw.decode("utf-8", "replace"))
    return " ".join(part.strip() for part in out if part.strip())


def _synth(text: str, voice: str, wpm: int) -> np.ndarray:
    with _Lib.lock:
        lib = _library()
        if _Lib.voice != voice:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ConfigError(f"espeak-ng has no voice '{voice}'.", code="tts.voice_missing",
                                  hint="Try en-us, en (British), en-gb-x-rp or en-us+f3.")
            _Lib.voice = voice
        lib.espeak_SetParameter(ESPEAK_RATE, int(wpm), 0)
        _Lib.buf = []
        data = text.encode("utf-8") + b"\0"
        err = lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        out, _Lib.buf = _Lib.buf, []
    if err != 0:
        raise TtsError(f"espeak-ng could not speak the text (error {err}).")
    return np.concatenate(out).astype(np.int16) if out else np.zeros(0, dtype=np.int16)


class EspeakTts(LocalTts):
    """The ``Tts`` protocol on in-process espeak-ng. ``EspeakTts(settings=settings)``."""

    name = "espeak"

    def __init__(self, *, settings: Settings, voice: str | None = None, rate: float | None = None) -> None:
        self.settings = settings
        self.voice = voice or DEFAULT_VOICE
        self.rate = float(settings.tts_rate if rate is None else rate)
        with _Lib.lock:
            _library()
        self.sample_rate = _Lib.rate

    def _chunks(self, text: str) -> Iterator[AudioChunk]:
        for sentence in split_text(text):
            samples = _synth(sentence, self.voice, round(DEFAULT_WPM * self.rate))
            if samples.size:
                yield AudioChunk(samples=samples, rate=self.sample_rate, channels=1)
