"""Speech-to-text with transformers' Whisper (the ``transformers`` extra: torch CPU + transformers).

``pip install 'sayso[transformers]'`` then ``SAYSO_STT=transformers``. ``stt_model`` may be:

* empty: the bundled tiny.en, converted once from CTranslate2 into a transformers checkpoint
  under ``<cache_dir>/transformers`` (:mod:`sayso.stt.ct2_convert`; numpy + safetensors);
* ``base`` or any CTranslate2 Whisper directory: converted the same way;
* a transformers checkpoint directory (``config.json`` + weights);
* a hub name such as ``openai/whisper-base.en``: loaded from the local Hugging Face cache only
  (nothing is downloaded at run time).

Same guards as the default backend (VAD speech gate, hallucination filter, padding) and the
traps noted for this path: audio is resampled by us (no torchaudio), repetition is guarded
(``no_repeat_ngram_size``, ``max_new_tokens``), audio over 30 s is cut into utterances by the
segmenter and transcribed piece by piece. Inference on one loaded model is serialised.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

# the extra's packages, imported at module load so a missing one makes the registry name the extra
import torch
import transformers  # noqa: F401

from sayso.config import Settings
from sayso.errors import ConfigError, SttError
from sayso.stt import base
from sayso.types import SAMPLE_RATE, Transcript, Utterance, Word

log = logging.getLogger(__name__)

WINDOW_S = 28.0  # longest piece given to the model in one go (its window is 30 s)

_MODELS: dict[tuple[str, int], dict[str, Any]] = {}
_MODELS_LOCK = threading.Lock()


def resolve_checkpoint(spec: str, cache_dir: Path) -> str:
    """A transformers checkpoint directory (or a hub name) for ``stt_model``."""
    from sayso.stt.ct2_convert import convert
    from sayso.stt.models import resolve_model

    name = spec.strip()
    if name in ("", "tiny.en", "base"):
        return str(convert(resolve_model(name, cache_dir), cache_dir))
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "model.bin").is_file():
            return str(convert(path, cache_dir))
        cfg = path / "config.json"
        if cfg.is_file() and json.loads(cfg.read_text(encoding="utf-8")).get("model_type") == "whisper":
            return str(path)
        raise ConfigError(f"{path} is neither a transformers Whisper checkpoint nor a CTranslate2 model.",
                          code="stt.model_missing")
    if "/" in name and not name.startswith((".", "/", "~")):
        return name  # a hub name: resolved from the local cache only
    raise ConfigError(f"The speech model '{name}' was not found.", code="stt.model_missing",
                      hint="Set SAYSO_STT_MODEL to a model directory, or leave it empty.")


class TransformersWhisperStt:
    """The ``Stt`` protocol on transformers. ``TransformersWhisperStt(settings=settings)``."""

    name = "transformers"

    def __init__(self, *, settings: Settings) -> None:
        self.settings = settings
        self.checkpoint = resolve_checkpoint(settings.stt_model, settings.cache_dir)
        self.threads = settings.stt_thread_count()
        self.beam_size = int(settings.stt_beam_size)
        self.pad_s = float(settings.stt_pad_ms) / 1000.0
        self.word_timestamps = bool(settings.stt_word_timestamps)
        self.language = settings.stt_language or None
        with _MODELS_LOCK:
            self._entry = _MODELS.setdefault((self.checkpoint, self.threads), {"lock": threading.Lock()})

    def _load(self) -> dict[str, Any]:
        entry = self._entry
        if "model" not in entry:
            with entry["lock"]:
                if "model" not in entry:
                    from transformers import (
                        AutoTokenizer,
                        WhisperFeatureExtractor,
                        WhisperForConditionalGeneration,
                    )
                    from transformers.utils import logging as hf_logging

                    hf_logging.set_verbosity_error()
                    t0 = time.perf_counter()
                    torch.set_num_threads(self.threads)
                    try:
                        model = WhisperForConditionalGeneration.from_pretrained(
                            self.checkpoint, local_files_only=True).eval()
                        tokenizer = AutoTokenizer.from_pretrained(self.checkpoint, local_files_only=True)
                        features = WhisperFeatureExtractor.from_pretrained(self.checkpoint, local_files_only=True)
                    except OSError as exc:
                        raise ConfigError(
                            f"The transformers Whisper model '{self.checkpoint}' is not available offline.",
                            code="stt.model_missing",
                            hint="Set SAYSO_STT_MODEL to a local checkpoint directory, or leave it empty "
                                 "to convert the bundled tiny.en.") from exc
                    entry.update(model=model, tokenizer=tokenizer, features=features)
                    log.info("transformers whisper %s loaded in %.0f ms", self.checkpoint,
                             (time.perf_counter() - t0) * 1000)
        return entry

    async def warmup(self) -> None:
        def warm() -> None:
            noise = (np.random.default_rng(0).standard_normal(SAMPLE_RATE // 2) * 1e-3).astype(np.float32)
            self._decode(noise, words=False)

        await asyncio.to_thread(warm)

    async def close(self) -> None:
        """The loaded model is shared by the process; nothing to release per instance."""

    async def transcribe(self, utt: Utterance) -> Transcript:
        return await asyncio.to_thread(self.transcribe_sync, utt)

    def transcribe_sync(self, utt: Utterance, *, words: bool | None = None) -> Transcript:
        admitted = base.admit(utt, self.settings)
        if not admitted.has_speech:
            return base.silence(admitted)
        audio, duration = admitted.audio, admitted.duration_s
        want_words = self.word_timestamps if words is None else words
        pieces = base.pieces(audio, max_s=WINDOW_S)
        texts, word_list, no_speech, logprobs = [], [], [], []
        for offset, piece in pieces:
            text, piece_words, ns, lp = self._decode(piece, words=want_words)
            texts.append(text)
            word_list += [Word(w.text, min(round(w.start_s + offset, 3), duration),
                               min(round(w.end_s + offset, 3), duration), w.probability)
                          for w in piece_words]
            no_speech.append(ns)
            logprobs.append(lp)
        text = " ".join(t for t in texts if t).strip()
        ns = max(no_speech) if len(no_speech) == 1 else float(np.mean(no_speech))
        return base.finish(admitted, text, words=tuple(word_list), language=self.language or "en",
                           no_speech_prob=ns, avg_logprob=float(np.mean(logprobs)))

    def _decode(self, audio: np.ndarray, *, words: bool) -> tuple[str, list[Word], float, float]:
        entry = self._load()
        model, tokenizer, features = entry["model"], entry["tokenizer"], entry["features"]
        pad = np.zeros(int(self.pad_s * SAMPLE_RATE), dtype=np.float32)
        padded = np.concatenate([pad, audio, pad])
        feats = features(padded, sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features
        gen = model.generation_config
        kwargs: dict[str, Any] = {
            "max_new_tokens": 128, "num_beams": self.beam_size, "no_repeat_ngram_size": 3,
            "return_dict_in_generate": True, "output_scores": True,
        }
        if getattr(gen, "is_multilingual", False):
            kwargs.update(language=self.language or "en", task="transcribe")
        if words and getattr(gen, "alignment_heads", None):
            kwargs["return_token_timestamps"] = True
        try:
            with entry["lock"], torch.inference_mode():
                encoded = model.get_encoder()(feats)  # once: the 30 s window is the big cost
                sot = torch.tensor([[model.generation_config.decoder_start_token_id]])
                first = model(encoder_outputs=encoded, decoder_input_ids=sot).logits[0, -1]
                out = model.generate(input_features=feats, encoder_outputs=encoded, **kwargs)
        except Exception as exc:  # a stage boundary: one clear sentence
            raise SttError(f"Speech recognition failed: {exc}.") from exc
        seq = out["sequences"][0]
        text = tokenizer.decode(seq, skip_special_tokens=True).strip()
        no_speech_id = tokenizer.convert_tokens_to_ids("<|nocaptions|>")
        if not isinstance(no_speech_id, int) or no_speech_id == tokenizer.unk_token_id:
            no_speech_id = tokenizer.convert_tokens_to_ids("<|nospeech|>")
        no_speech = float(torch.softmax(first.float(), dim=-1)[no_speech_id]) if isinstance(no_speech_id, int) else 0.0
        logprob = self._avg_logprob(model, out)
        word_list = self._words(tokenizer, seq, out.get("token_timestamps"), pad.size / SAMPLE_RATE,
                                audio.size / SAMPLE_RATE) if words else []
        return text, word_list, no_speech, logprob

    @staticmethod
    def _avg_logprob(model: Any, out: Any) -> float:
        scores = out.get("scores")
        if not scores:
            return 0.0
        try:
            trans = model.compute_transition_scores(out["sequences"], scores, normalize_logits=True)
        except Exception:  # beams without indices, etc.: no confidence rather than no text
            return 0.0
        vals = trans[0][torch.isfinite(trans[0])]
        return float(vals.mean()) if vals.numel() else 0.0

    @staticmethod
    def _words(tokenizer: Any, seq: Any, stamps: Any, pad_s: float, duration: float) -> list[Word]:
        if stamps is None:
            return []
        ids, times = seq.tolist(), stamps[0].tolist()
        first_special = tokenizer.convert_tokens_to_ids("<|endoftext|>")  # all of Whisper's come after
        special = set(tokenizer.all_special_ids)
        out: list[Word] = []
        current: list[int] = []
        start = 0.0
        for i, tok in enumerate(ids):
            if tok in special or tok >= first_special:
                continue
            piece = tokenizer.decode([tok])
            if piece.startswith(" ") and current:
                out.append(_word(tokenizer, current, start, times[i], pad_s, duration))
                current = []
            if not current:
                start = times[i] if i < len(times) else 0.0
            current.append(tok)
        if current:
            out.append(_word(tokenizer, current, start, times[-1], pad_s, duration))
        return [w for w in out if w.text]


def _word(tokenizer: Any, ids: list[int], start: float, end: float, pad_s: float, duration: float) -> Word:
    start_s = min(round(max(0.0, start - pad_s), 3), duration)
    end_s = min(round(max(0.0, end - pad_s), 3), duration)
    return Word(text=tokenizer.decode(ids).strip(), start_s=start_s, end_s=max(start_s, end_s))
