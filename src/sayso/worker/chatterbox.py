"""Chatterbox (ResembleAI, chatterbox-tts 0.1.7) as a ``Tts``, for the worker's own environment.

It runs only inside the env built by ``sayso worker install chatterbox`` (torch 2.6, numpy<2),
never in sayso's. What the adapter takes care of:
- ``generate()`` mutates the model's conditionals when cloning a voice, so every call is
  serialised behind one lock, and each voice's conditionals are computed once and cached;
- text is spoken sentence by sentence (long sentences cut at clauses, then words), so the first
  sentence plays early and no call nears the ~40 s (1000 speech tokens) cap of one generate;
- output is 24 kHz mono, sent as int16.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import re
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from sayso.audio.convert import to_int16
from sayso.config import Settings
from sayso.errors import ConfigError, TtsError
from sayso.types import AudioChunk

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
CAP_S = 40.0  # 1000 speech tokens at 25 tokens/s: the most one generate() call can say
MAX_CHARS = 250  # ~15-20 s of speech: far enough from the cap
WEIGHT_FILES = ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json")

_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")


def split_text(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Sentences, with any longer than ``max_chars`` cut at clauses, then between words."""
    from sayso.tts.sentences import split_text as sentences  # abbreviations, decimals, URLs

    pieces: list[str] = []
    for sentence in sentences(" ".join(text.split())):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        current = ""
        for clause in _CLAUSE_END.split(sentence):
            for part in _cut_words(clause, max_chars):
                if current and len(current) + 1 + len(part) > max_chars:
                    pieces.append(current)
                    current = part
                else:
                    current = f"{current} {part}".strip()
        if current:
            pieces.append(current)
    return pieces


def _cut_words(clause: str, max_chars: int) -> list[str]:
    if len(clause) <= max_chars:
        return [clause]
    out, current = [], ""
    for word in clause.split(" "):
        if current and len(current) + 1 + len(word) > max_chars:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        out.append(current)
    return out


def _to_numpy(wav: Any) -> np.ndarray:
    """A torch tensor (1, N) or array -> float32 (N,)."""
    if hasattr(wav, "detach"):
        wav = wav.detach().cpu().numpy()
    arr = np.asarray(wav, dtype=np.float32)
    return arr.reshape(-1)


class ChatterboxVoice:
    """A loaded Chatterbox model behind the Tts protocol."""

    name = "chatterbox"
    sample_rate = SAMPLE_RATE

    def __init__(self, model: Any, *, exaggeration: float = 0.5, cfg_weight: float = 0.5,
                 voice_prompt: str = "", max_chars: int = MAX_CHARS, device: str = "cuda") -> None:
        self.model = model
        self.device = device
        self.exaggeration = exaggeration
        self.cfg_weight = cfg_weight
        self.voice_prompt = voice_prompt
        self.max_chars = max_chars
        self.sample_rate = int(getattr(model, "sr", SAMPLE_RATE))
        self._lock = threading.Lock()  # generate() and the conditionals it reads are shared state
        self._conds: dict[str, Any] = {}
        if getattr(model, "conds", None) is not None:
            self._conds[""] = model.conds  # the built-in voice (conds.pt)
        accepted = inspect.signature(model.generate).parameters
        self._kwargs = {k: v for k, v in (("exaggeration", exaggeration), ("cfg_weight", cfg_weight))
                        if k in accepted}
        self.stats = {"generate_calls": 0, "conditionals_computed": 0, "capped": 0}

    async def synthesize(self, text: str, *, voice: str | None = None) -> AsyncIterator[AudioChunk]:
        for piece in split_text(text, self.max_chars):
            samples = await asyncio.to_thread(self._generate, piece, voice)
            if samples.size:
                yield AudioChunk(samples=to_int16(np.clip(samples, -1.0, 1.0)), rate=self.sample_rate)

    def _generate(self, text: str, voice: str | None) -> np.ndarray:
        t0 = time.monotonic()
        with self._lock:
            self._select_voice(voice if voice is not None else self.voice_prompt)
            wav = self.model.generate(text, **self._kwargs)
            self.stats["generate_calls"] += 1
        samples = _to_numpy(wav)
        seconds = samples.size / self.sample_rate
        if seconds >= CAP_S - 0.5:
            self.stats["capped"] += 1
            log.warning("Chatterbox stopped at its %.0f s limit on a %d-character piece; its end "
                        "may be missing.", CAP_S, len(text))
        log.debug("chatterbox: %.1f s of audio in %.0f ms", seconds, (time.monotonic() - t0) * 1000)
        return samples

    def _select_voice(self, voice: str) -> None:
        """Put the voice's conditionals on the model, computing them once per voice (under the lock)."""
        key = str(Path(voice).resolve()) if voice else ""
        if key not in self._conds:
            if not key:
                raise TtsError("This Chatterbox checkpoint has no built-in voice (conds.pt).",
                               hint="Set SAYSO_CHATTERBOX_VOICE_PROMPT to a WAV file of the voice.")
            if not Path(key).is_file():
                raise TtsError(f"The voice prompt {voice} does not exist.",
                               hint="Set SAYSO_CHATTERBOX_VOICE_PROMPT to a WAV file.")
            self.model.prepare_conditionals(key, exaggeration=self.exaggeration)
            self._conds[key] = self.model.conds
            self.stats["conditionals_computed"] += 1
        # a shallow copy: generate() replaces attributes on it, never on the cached original
        self.model.conds = copy.copy(self._conds[key])

    async def warmup(self) -> None:
        async for _ in self.synthesize("Ready."):
            pass

    async def close(self) -> None:
        self.model = None
        self._conds.clear()


async def load_chatterbox(settings: Settings, *, device: str) -> ChatterboxVoice:
    """Load the model (from chatterbox_checkpoint_dir, else the hub) and warm it up."""
    voice = await asyncio.to_thread(_load, settings, device)
    t0 = time.monotonic()
    await voice.warmup()
    log.info("Chatterbox ready on %s (warm-up %.0f ms)", device, (time.monotonic() - t0) * 1000)
    return voice


def _load(settings: Settings, device: str) -> ChatterboxVoice:
    try:
        import perth
        from chatterbox.tts import ChatterboxTTS
    except ImportError as exc:
        raise ConfigError("Chatterbox is not installed in this environment.",
                          hint="Run 'sayso worker install chatterbox', then "
                               "'sayso worker serve --tts chatterbox'.") from exc
    if getattr(perth, "PerthImplicitWatermarker", None) is None:
        raise ConfigError("resemble-perth could not load its watermarker (setuptools 81 removed "
                          "pkg_resources), so Chatterbox cannot start.",
                          hint="In the Chatterbox env run: pip install 'setuptools<81'")
    ckpt = settings.chatterbox_checkpoint_dir
    if device == "cpu":
        log.warning("Chatterbox on the CPU is far slower than real time; use a GPU.")
    t0 = time.monotonic()
    if ckpt:
        missing = [f for f in WEIGHT_FILES if not (Path(ckpt) / f).is_file()]
        if missing:
            raise ConfigError(f"The Chatterbox checkpoint directory {ckpt} lacks {', '.join(missing)}.",
                              hint="Copy the ResembleAI/chatterbox files there.")
        model = ChatterboxTTS.from_local(ckpt, device)
    else:
        try:
            model = ChatterboxTTS.from_pretrained(device=device)
        except Exception as exc:
            raise ConfigError("The Chatterbox weights are not on this machine and the model hub "
                              f"could not be reached ({type(exc).__name__}).",
                              hint="Set SAYSO_CHATTERBOX_CHECKPOINT_DIR to a directory holding "
                                   + ", ".join(WEIGHT_FILES) + " and conds.pt.") from exc
    log.info("Chatterbox loaded on %s in %.1f s", device, time.monotonic() - t0)
    return ChatterboxVoice(model, exaggeration=settings.chatterbox_exaggeration,
                           cfg_weight=settings.chatterbox_cfg_weight,
                           voice_prompt=settings.chatterbox_voice_prompt, device=device)
