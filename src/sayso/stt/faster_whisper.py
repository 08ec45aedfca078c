"""Speech-to-text with faster-whisper (CTranslate2): the default backend.

Defaults tuned for short spoken commands on a small CPU (see scripts/measure_speech.py and the
table in docs/speech.md): int8, greedy decoding (beam 1), ``without_timestamps`` unless word
times are asked for, ``condition_on_previous_text=False``, one temperature (no fallback
re-decoding), ``stt_pad_ms`` of silence added before and after each utterance (helps tiny.en
a lot on tightly cut audio), and no faster-whisper VAD: the segmenter does the endpointing.
``stt_window = "short"`` decodes through CTranslate2 directly with a mel window sized to the
audio instead of 30 s (:meth:`FasterWhisperStt._short_window`). The audio limit, VAD gate and
hallucination filter are the shared policy of :mod:`sayso.stt.base`.

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

from sayso.config import Settings
from sayso.errors import SttError
from sayso.stt import base, decoding
from sayso.stt.base import replace_audio, to_stt_audio
from sayso.stt.models import resolve_model
from sayso.types import SAMPLE_RATE, Transcript, Utterance, Word

__all__ = ["FasterWhisperStt", "replace_audio", "to_stt_audio", "unload_all"]

log = logging.getLogger(__name__)

SHORT_MIN_FRAMES = 1000  # 10 s of mel frames: the short window's smallest size
SHORT_EXTRA_FRAMES = 200  # mel frames of padding past the audio
SHORT_MAX_S = 28.0  # longer audio takes the full path (it handles audio past 30 s)


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


class FasterWhisperStt:
    """The ``Stt`` protocol on faster-whisper. ``FasterWhisperStt(settings=settings)``."""

    name = "faster-whisper"

    def __init__(self, *, settings: Settings, window: str | None = None, **options: Any) -> None:
        self.settings = settings
        self.model_path = resolve_model(settings.stt_model, settings.cache_dir)
        self.device = _device(settings.stt_device)
        compute = settings.stt_compute_type
        self.compute_type = ("int8" if self.device == "cpu" else "float16") if compute == "auto" else compute
        self.threads = settings.stt_thread_count()
        self.beam_size = int(settings.stt_beam_size)
        self.pad_s = float(settings.stt_pad_ms) / 1000.0
        self.word_timestamps = settings.stt_word_timestamps
        self.window = window or settings.stt_window
        lang = settings.stt_language
        self.language = lang or None
        # decode options: overridable per instance (scripts/measure_speech.py compares them)
        self.options: dict[str, Any] = {
            "beam_size": self.beam_size,
            "best_of": 1,
            "temperature": 0.0,
            "condition_on_previous_text": False,
            "vad_filter": False,
        }
        prompt = settings.stt_prompt
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
    def _decode_options(self, model: Any, *, words: bool | None = None, prompt: str = "") -> dict[str, Any]:
        opts = dict(self.options)
        if prompt:  # the page vocabulary, after any fixed prompt
            opts["initial_prompt"] = f"{opts.get('initial_prompt') or ''} {prompt}".strip()
        want_words = self.word_timestamps if words is None else words
        opts.setdefault("word_timestamps", want_words)
        opts.setdefault("without_timestamps", not want_words)
        multilingual = bool(getattr(model, "model", None) is not None and model.model.is_multilingual)
        opts.setdefault("language", self.language if multilingual else "en")
        return opts

    def transcribe_sync(self, utt: Utterance, *, words: bool | None = None) -> Transcript:
        """Transcribe in the calling thread (``transcribe`` runs this in a worker thread)."""
        admitted = base.admit(utt, self.settings)
        if not admitted.has_speech:
            log.debug("no speech in %.2f s of audio: not sent to Whisper", admitted.duration_s)
            return base.silence(admitted)
        pad = np.zeros(int(self.pad_s * SAMPLE_RATE), dtype=np.float32)
        padded = np.concatenate([pad, admitted.audio, pad]) if pad.size else admitted.audio
        want_words = self.word_timestamps if words is None else words
        if self.window == "short" and not want_words and padded.size <= SHORT_MAX_S * SAMPLE_RATE:
            text, no_speech, logprob = self._short_window(padded, prompt=utt.prompt)
            return base.finish(admitted, text, no_speech_prob=no_speech, avg_logprob=logprob)
        model = self._model()
        try:
            with self._shared.lock:
                segments, info = model.transcribe(padded, **self._decode_options(model, words=words,
                                                                                  prompt=utt.prompt))
                segs = list(segments)  # decoding happens here, inside the worker thread
        except Exception as exc:
            raise SttError(f"Speech recognition failed: {exc}.") from exc
        text = " ".join(s.text.strip() for s in segs if s.text.strip()).strip()
        no_speech = max((s.no_speech_prob for s in segs), default=1.0)
        logprob = float(np.mean([s.avg_logprob for s in segs])) if segs else 0.0
        duration = admitted.duration_s
        word_list = tuple(
            Word(text=w.word.strip(), start_s=min(max(0.0, round(float(w.start) - self.pad_s, 3)), duration),
                 end_s=min(max(0.0, round(float(w.end) - self.pad_s, 3)), duration),
                 probability=float(w.probability))
            for s in segs for w in (s.words or ())
        )
        return base.finish(admitted, text, words=word_list, language=info.language or "en",
                           no_speech_prob=no_speech, avg_logprob=logprob)

    def _short_window(self, padded: np.ndarray, *, prompt: str = "") -> tuple[str, float, float]:
        """Greedy decode through ``ctranslate2.models.Whisper.generate`` on a short mel window.

        The mel features are padded to max(1000, frames + 200) instead of Whisper's 3000 (the
        encoder's cost follows the window), the output is capped at prompt + 6 + 6 tokens per
        second of audio, and an immediate phrase repeat is cut: without those two guards the
        short window made Whisper loop or run on.
        """
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        model = self._model()
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                              language=(self.language or "en") if model.model.is_multilingual else "en")
        feats = model.feature_extractor(padded)
        frames = feats.shape[-1]
        window = min(3000, max(SHORT_MIN_FRAMES, frames + SHORT_EXTRA_FRAMES))
        mel = np.zeros((1, feats.shape[0], window), dtype=np.float32)
        mel[0, :, : min(frames, window)] = feats[:, :window]
        initial = self._decode_options(model, prompt=prompt).get("initial_prompt")
        tokens: list[int] = []
        if initial:
            tokens += [tokenizer.sot_prev, *tokenizer.encode(" " + str(initial).strip())[-200:]]
        tokens += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        cap = len(tokens) + decoding.token_cap(padded.size / SAMPLE_RATE, per_s=6, base=6)
        try:
            with self._shared.lock:
                res = model.model.generate(
                    ctranslate2.StorageView.from_array(mel), [tokens], beam_size=self.beam_size,
                    max_length=cap, return_scores=True, return_no_speech_prob=True,
                    suppress_blank=True, suppress_tokens=[-1],
                )[0]
        except Exception as exc:
            raise SttError(f"Speech recognition failed: {exc}.") from exc
        ids = [t for t in decoding.cut_repeat(res.sequences_ids[0]) if t < tokenizer.eot]
        score = float(res.scores[0]) if res.scores else 0.0
        return tokenizer.decode(ids).strip(), float(res.no_speech_prob), score
