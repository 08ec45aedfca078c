"""Silero VAD v6 run with onnxruntime directly (no torch): speech probability per 32 ms frame.

The ONNX model is the copy shipped inside the faster-whisper wheel
(:func:`sayso.models.silero_vad_onnx`). Each frame is 512 samples at 16 kHz; the model also
sees the last 64 samples of the previous frame (its "context") and carries an LSTM state, so
one :class:`SileroVad` instance follows one audio stream. The ONNX session itself is loaded
once per process and shared (it is thread-safe for ``run``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from sayso import models
from sayso.errors import ConfigError

log = logging.getLogger(__name__)

FRAME = 512  # samples at 16 kHz = 32 ms
CONTEXT = 64
FRAME_MS = FRAME * 1000.0 / 16_000

_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def _session(path: Path | None = None) -> Any:
    """The shared onnxruntime session for the Silero model (loaded once, 1 thread)."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None or path is not None:
            import onnxruntime as ort

            model = path or models.silero_vad_onnx()
            if model is None:
                raise ConfigError(
                    "The Silero VAD model was not found (it ships inside faster-whisper).",
                    hint="Reinstall with: .venv/bin/pip install -e .",
                )
            opts = ort.SessionOptions()
            opts.inter_op_num_threads = 1
            opts.intra_op_num_threads = 1
            opts.enable_cpu_mem_arena = False
            opts.log_severity_level = 4
            sess = ort.InferenceSession(str(model), sess_options=opts,
                                        providers=["CPUExecutionProvider"])
            log.debug("silero VAD loaded from %s", model)
            if path is not None:
                return sess
            _SESSION = sess
        return _SESSION


class SileroVad:
    """Streaming Silero VAD: feed 16 kHz float32 frames of 512 samples, get P(speech).

    Not the segmenter: :class:`sayso.audio.segmenter.Segmenter` turns these probabilities
    into utterances. One instance per stream (it carries state); cheap to create.
    """

    def __init__(self, *, model_path: Path | None = None) -> None:
        self._sess = _session(model_path)
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far (new LSTM state, empty context)."""
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def prob(self, frame: np.ndarray) -> float:
        """Speech probability of one frame of exactly 512 samples (16 kHz float32)."""
        if frame.shape != (FRAME,):
            raise ValueError(f"a VAD frame is {FRAME} samples, got {frame.shape}")
        x = np.concatenate([self._context, frame.astype(np.float32, copy=False)])[None, :]
        out, self._h, self._c = self._sess.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = x[0, -CONTEXT:].copy()
        return float(np.asarray(out).reshape(-1)[0])

    def probs(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities of every whole frame in ``audio`` (a trailing partial frame is ignored)."""
        n = audio.shape[0] // FRAME
        return np.array([self.prob(audio[i * FRAME:(i + 1) * FRAME]) for i in range(n)],
                        dtype=np.float32)


def speech_ms(audio: np.ndarray, *, threshold: float = 0.5) -> float:
    """How many milliseconds of ``audio`` (16 kHz mono float32) Silero judges to be speech."""
    vad = SileroVad()
    return float((vad.probs(audio) >= threshold).sum()) * FRAME_MS
