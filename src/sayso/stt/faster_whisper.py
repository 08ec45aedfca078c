"""Speech-to-text with faster-whisper (CTranslate2): the default backend.

Defaults tuned for short spoken commands on a small CPU (see scripts/measure_speech.py and the
table in docs/speech.md): int8, greedy decoding (beam 1), ``without_timestamps`` unless word
times are asked for, ``condition_on_previous_text=False``, one temperature (no fallback
re-decoding), ``stt_pad_ms`` of silence added before and after each utterance (helps tiny.en
a lot on tightly cut audio), and no faster-whisper VAD: the segmenter does the endpointing.

One loaded model is shared by every ``FasterWhisperStt`` with the same model/device/threads in
the process; inference on it is serialised by a lock (CTranslate2 would otherwise split the
same cores between sessions and every turn would get slower). faster-whisper decodes lazily
while its segment generator is iterated, so the whole decode runs inside the worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sayso.audio.convert import to_16k_mono
from sayso.errors import AudioError, SttError
from sayso.stt import filters
from sayso.stt.models import resolve_model
from sayso.types import SAMPLE_RATE, AudioChunk, Transcript, Utterance, Word

log = logging.getLogger(__name__)


@dataclass
class _Shared:
    """One loaded model and the lock that serialises inference on it."""

    key: tuple[Any, ...]
    model: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    load_ms: float = 0.0


_MODELS: dict[tuple[Any, ...], _Shared] = {}
_MODELS_LOCK = threading.Lock()


def _device(setting: str) -> str:
    if setting != "auto":
        return setting
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # no CUDA runtime at all
        return "cpu"


def _shared(path: Path, device: str, compute_type: str, threads: int) -> _Shared:
    key = (str(path), device, compute_type, threads)
    with _MODELS_LOCK:
        entry = _MODELS.get(key)
        if entry is None:
            entry = _MODELS[key] = _Shared(key=key)
        return entry


def unload_all() -> None:
    """Drop every cached model (they reload lazily on the next transcription)."""
    with _MODELS_LOCK:
        _MODELS.clear()


def to_stt_audio(chunk: AudioChunk) -> np.ndarray:
    """16 kHz mono float32, as faster-whisper assumes for numpy input."""
    arr = np.asarray(chunk.samples)
    if chunk.rate == SAMPLE_RATE and chunk.channels == 1 and arr.ndim == 1 and arr.dtype == np.float32:
        return np.clip(np.nan_to_num(arr), -1.0, 1.0)
    return to_16k_mono(chunk).samples


class FasterWhisperStt:
    """The ``Stt`` protocol on faster-whisper. ``FasterWhisperStt(settings=settings)``."""

    name = "faster-whisper"

    def __init__(self, *, settings: Any, **options: Any) -> None:
        self.settings = settings
        self.model_path = resolve_model(settings.stt_model, settings.cache_dir)
        self.device = _device(settings.stt_device)
        compute = getattr(settings, "stt_compute_type", "auto")
        self.compute_type = ("int8" if self.device == "cpu" else "float16") if compute == "auto" else compute
        self.threads = int(settings.stt_threads)
        self.beam_size = int(settings.stt_beam_size)
        self.pad_s = float(getattr(settings, "stt_pad_ms", 400)) / 1000.0
        self.word_timestamps = bool(getattr(settings, "stt_word_timestamps", False))
        lang = getattr(settings, "stt_language", "en")
        self.language = lang or None
        # decode options: overridable per instance (scripts/measure_speech.py compares them)
        self.options: dict[str, Any] = {
            "beam_size": self.beam_size,
            "best_of": 1,
            "temperature": 0.0,
            "condition_on_previous_text": False,
            "vad_filter": False,
        }
        prompt = getattr(settings, "stt_prompt", "")
        if prompt:
            self.options["initial_prompt"] = prompt
        self.options.update(options)
        self._shared = _shared(self.model_path, self.device, self.compute_type, self.threads)

    # ------------------------------------------------------------------ model
    def _model(self) -> Any:
        entry = self._shared
        if entry.model is None:
            with entry.lock:
                if entry.model is None:
                    t0 = time.perf_counter()
                    try:
                        from faster_whisper import WhisperModel

                        entry.model = WhisperModel(
                            str(self.model_path), device=self.device,
                            compute_type=self.compute_type, cpu_threads=self.threads, num_workers=1,
                        )
                    except Exception as exc:  # a stage boundary: one clear sentence
                        raise SttError(
                            f"Could not load the Whisper model from {self.model_path}: {exc}.",
                            code="stt.load_failed",
                            hint="Check SAYSO_STT_MODEL, or leave it empty for the bundled model.",
                        ) from exc
                    entry.load_ms = (time.perf_counter() - t0) * 1000
                    log.info("whisper model %s loaded in %.0f ms (%s, %s, %d threads)",
                             self.model_path, entry.load_ms, self.device, self.compute_type,
                             self.threads)
        return entry.model

    @property
    def multilingual(self) -> bool:
        model = self._model()
        return bool(getattr(model, "model", None) is not None and model.model.is_multilingual)

    # -------------------------------------------------------------- protocol
    async def warmup(self) -> None:
        await asyncio.to_thread(self._warm)

    def _warm(self) -> None:
        model = self._model()
        noise = (np.random.default_rng(0).standard_normal(SAMPLE_RATE // 2) * 1e-3).astype(np.float32)
        with self._shared.lock:
            list(model.transcribe(noise, **self._decode_options(model))[0])

    async def close(self) -> None:
        """Nothing to release per instance: the model is shared (see :func:`unload_all`)."""

    async def transcribe(self, utt: Utterance) -> Transcript:
        return await asyncio.to_thread(self.transcribe_sync, utt)

    # ---------------------------------------------------------------- blocking
    def _decode_options(self, model: Any, *, words: bool | None = None) -> dict[str, Any]:
        opts = dict(self.options)
        want_words = self.word_timestamps if words is None else words
        opts.setdefault("word_timestamps", want_words)
        opts.setdefault("without_timestamps", not want_words)
        multilingual = bool(getattr(model, "model", None) is not None and model.model.is_multilingual)
        opts.setdefault("language", self.language if multilingual else "en")
        return opts

    def transcribe_sync(self, utt: Utterance, *, words: bool | None = None) -> Transcript:
        """Transcribe in the calling thread (``transcribe`` runs this in a worker thread)."""
        t0 = time.perf_counter()
        audio = to_stt_audio(utt.audio)
        duration = audio.shape[0] / SAMPLE_RATE
        limit = float(self.settings.stt_max_audio_s)
        if duration > limit:
            raise AudioError(f"The audio is {duration:.0f} s long; the limit is {limit:.0f} s.",
                             code="audio.too_long")
        speech = filters.speech_ms_of(replace_audio(utt, audio), threshold=self.settings.vad_threshold)
        if not filters.has_speech(speech, min_speech_ms=self.settings.vad_min_speech_ms):
            log.debug("no speech in %.2f s of audio: not sent to Whisper", duration)
            return Transcript(text="", no_speech_prob=1.0, audio_s=duration,
                              elapsed_ms=(time.perf_counter() - t0) * 1000)
        pad = np.zeros(int(self.pad_s * SAMPLE_RATE), dtype=np.float32)
        padded = np.concatenate([pad, audio, pad]) if pad.size else audio
        model = self._model()
        try:
            with self._shared.lock:
                opts = self._decode_options(model, words=words)
                if utt.prompt:  # the page vocabulary, after any fixed prompt
                    opts["initial_prompt"] = f"{opts.get('initial_prompt') or ''} {utt.prompt}".strip()
                segments, _info = model.transcribe(padded, **opts)
                segs = list(segments)  # decoding happens here, inside the worker thread
        except Exception as exc:
            raise SttError(f"Speech recognition failed: {exc}.") from exc
        text = " ".join(s.text.strip() for s in segs if s.text.strip()).strip()
        no_speech = max((s.no_speech_prob for s in segs), default=1.0)
        logprob = float(np.mean([s.avg_logprob for s in segs])) if segs else 0.0
        word_list = tuple(
            Word(text=w.word.strip(), start_s=min(max(0.0, round(float(w.start) - self.pad_s, 3)), duration),
                 end_s=min(max(0.0, round(float(w.end) - self.pad_s, 3)), duration),
                 probability=float(w.probability))
            for s in segs for w in (s.words or ())
        )
        if filters.is_hallucination(text, speech_ms=speech, no_speech_prob=no_speech):
            log.info("dropped a likely hallucination (%d chars, %.0f ms of speech)", len(text), speech)
            text, word_list = "", ()
        return Transcript(text=text, words=word_list, language=_info.language or "en",
                          no_speech_prob=float(no_speech), avg_logprob=logprob, audio_s=duration,
                          elapsed_ms=(time.perf_counter() - t0) * 1000)


def replace_audio(utt: Utterance, audio: np.ndarray) -> Utterance:
    from dataclasses import replace

    return replace(utt, audio=AudioChunk(samples=audio, rate=SAMPLE_RATE, channels=1))
