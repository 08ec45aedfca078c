#!/usr/bin/env python3
"""Measure the speech stages on this machine: STT latency and accuracy, VAD cost, TTS speed.

    .venv/bin/python scripts/measure_speech.py [--quick] [--out DIR] [--base DIR|auto]

What it prints (a Markdown table, also written as JSON to --out):

* STT latency for 1 s / 3 s / 10 s utterances (median of 5) with sayso's settings vs
  faster-whisper's defaults (``WhisperModel(path)`` + ``model.transcribe(audio)``).
* Word error rate on the dev commands (shared/data/commands-dev.tsv) rendered by Piper and by
  two espeak-ng voices, clean and with white noise at 10 dB SNR. Each rendering is streamed in
  20 ms chunks through the real segmenter, and every utterance it cuts is transcribed: the
  live path, not a shortcut. Also for Whisper base when ``--base`` gives its directory (or
  ``auto``: installed with ``pip install 'sayso[whisper-base]'``).
* VAD cost per 32 ms frame, and per 20 ms chunk for 16 kHz mono and 48 kHz stereo input.
* TTS first-audio latency (one sentence; a three-sentence reply) and real-time factor for
  Piper and espeak-ng.

Timings on a shared machine fluctuate: every figure is a median, and the baseline is measured
in the same run. Nothing here is asserted by tests (speed is reported, not tested).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from sayso.audio.convert import to_16k_mono  # noqa: E402
from sayso.audio.segmenter import Segmenter  # noqa: E402
from sayso.config import load_settings  # noqa: E402
from sayso.types import SAMPLE_RATE, AudioChunk, Utterance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "data" / "commands-dev.tsv"
ESPEAK_VOICES = ("en-us", "en+f3")
SNR_DB = 10.0

_NUM = {str(i): w for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}


# --------------------------------------------------------------------------- helpers
def norm_words(text: str) -> list[str]:
    """Lower case, '.' in names read as 'dot', digits as words, no punctuation."""
    t = text.lower()
    t = re.sub(r"(?<=\w)\.(?=\w)", " dot ", t)
    t = re.sub(r"[^\w\s']", " ", t)
    return [_NUM.get(w, w) for w in t.split()]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(pairs: list[tuple[str, str]]) -> float:
    errors = sum(edit_distance(norm_words(r), norm_words(h)) for r, h in pairs)
    words = sum(len(norm_words(r)) for r, _ in pairs)
    return errors / max(words, 1)


def med(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else float("nan")


def dev_commands(limit: int | None) -> list[str]:
    rows = [ln.split("\t")[0].strip() for ln in DEV.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")]
    return rows[:limit] if limit else rows


def with_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White noise at ``snr_db`` below the speech's RMS (measured over non-silent samples)."""
    speech = audio[np.abs(audio) > 0.01]
    rms = float(np.sqrt(np.mean(speech**2))) if speech.size else 0.05
    noise = np.random.default_rng(seed).standard_normal(audio.shape[0]).astype(np.float32)
    noise *= rms / (10 ** (snr_db / 20))
    return np.clip(audio + noise, -1, 1).astype(np.float32)


def in_stream(speech: np.ndarray, *, noise_db: float | None, seed: int) -> np.ndarray:
    """0.5 s before and 1 s after the speech, as a microphone stream would carry it."""
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), speech,
                            np.zeros(SAMPLE_RATE, np.float32)])
    return with_noise(audio, noise_db, seed) if noise_db is not None else audio


def cut_utterances(audio: np.ndarray, settings: Any) -> list[Utterance]:
    seg = Segmenter(settings=settings)
    out: list[Utterance] = []
    step = SAMPLE_RATE // 50  # 20 ms chunks
    for i in range(0, audio.shape[0], step):
        out += seg.feed(AudioChunk(samples=audio[i:i + step], rate=SAMPLE_RATE))
    return out + seg.flush()


# --------------------------------------------------------------------------- rendering
def render_all(texts: list[str], settings: Any) -> dict[str, list[np.ndarray]]:
    from sayso.tts.espeak import EspeakTts
    from sayso.tts.piper import PiperTts

    voices: dict[str, Any] = {"piper joe": PiperTts(settings=settings)}
    for name in ESPEAK_VOICES:
        voices[f"espeak {name}"] = EspeakTts(settings=settings, voice=name)
    out: dict[str, list[np.ndarray]] = {}
    for label, tts in voices.items():
        clips = []
        for text in texts:
            chunks = tts.synthesize_sync(text)
            audio = np.concatenate([np.asarray(c.samples) for c in chunks])
            clips.append(to_16k_mono(AudioChunk(samples=audio, rate=chunks[0].rate)).samples)
        out[label] = clips
    return out


# --------------------------------------------------------------------------- STT
def stt_accuracy(stt: Any, texts: list[str], renders: dict[str, list[np.ndarray]],
                 settings: Any) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for voice, clips in renders.items():
        for cond, noise in (("clean", None), (f"{SNR_DB:.0f} dB SNR", SNR_DB)):
            pairs, times, misses = [], [], 0
            for i, (ref, clip) in enumerate(zip(texts, clips, strict=True)):
                utts = cut_utterances(in_stream(clip, noise_db=noise, seed=i), settings)
                misses += not utts
                hyp = []
                for utt in utts:
                    tr = stt.transcribe_sync(utt)
                    times.append(tr.elapsed_ms)
                    hyp.append(tr.text)
                pairs.append((ref, " ".join(hyp)))
            rows[f"{voice}, {cond}"] = {
                "wer": round(wer(pairs), 4), "ms_median": med(times), "no_utterance": misses,
                "errors": [(r, h) for r, h in pairs if norm_words(r) != norm_words(h)][:8],
            }
            print(f"  {voice:18s} {cond:10s} WER {rows[f'{voice}, {cond}']['wer']:.1%}  "
                  f"{med(times):.0f} ms/utt", file=sys.stderr)
    return rows


def stt_latency(settings: Any, model_dir: Path, repeats: int) -> dict[str, Any]:
    """Median transcription time for 1/3/10 s of speech: sayso's settings vs the defaults."""
    from faster_whisper import WhisperModel

    from sayso.stt.faster_whisper import FasterWhisperStt
    from sayso.tts.piper import PiperTts

    tts = PiperTts(settings=settings)
    text = ("Open the guardian and read me the headlines about the weather in Berlin, then search "
            "the web for train times to Leeds, and after that scroll to the bottom of the page "
            "and click on the link number four so I can see more.")
    full = np.concatenate([np.asarray(c.samples) for c in tts.synthesize_sync(text)])
    full = to_16k_mono(AudioChunk(samples=full, rate=tts.sample_rate)).samples
    mine = FasterWhisperStt(settings=settings.model_copy(update={"stt_model": str(model_dir)}))
    mine.transcribe_sync(Utterance(audio=AudioChunk(full[:SAMPLE_RATE], SAMPLE_RATE)))  # warm
    default = WhisperModel(str(model_dir))
    list(default.transcribe(full[:SAMPLE_RATE])[0])
    out: dict[str, Any] = {}
    for secs in (1, 3, 10):
        clip = full[: secs * SAMPLE_RATE]
        utt = Utterance(audio=AudioChunk(samples=clip, rate=SAMPLE_RATE), speech_ms=secs * 1000.0)
        t_mine, t_def = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            mine.transcribe_sync(utt)
            t_mine.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            list(default.transcribe(clip)[0])
            t_def.append((time.perf_counter() - t0) * 1000)
        out[f"{secs} s"] = {"sayso": med(t_mine), "defaults": med(t_def)}
        print(f"  {secs:2d} s: sayso {med(t_mine):.0f} ms, defaults {med(t_def):.0f} ms", file=sys.stderr)
    return out


# --------------------------------------------------------------------------- VAD / TTS
def vad_cost(settings: Any) -> dict[str, float]:
    from sayso.audio.vad import FRAME, SileroVad

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(SAMPLE_RATE * 20) * 0.05).astype(np.float32)
    vad = SileroVad()
    n = audio.shape[0] // FRAME
    t0 = time.perf_counter()
    for i in range(n):
        vad.prob(audio[i * FRAME:(i + 1) * FRAME])
    per_frame = (time.perf_counter() - t0) * 1000 / n
    out = {"silero_ms_per_32ms_frame": round(per_frame, 3)}
    for label, rate, ch in (("16 kHz mono", 16000, 1), ("48 kHz stereo", 48000, 2)):
        seg = Segmenter(settings=settings)
        step = rate // 50
        src = (rng.standard_normal((rate * 20, ch)) * 0.05).astype(np.float32)
        src = src[:, 0] if ch == 1 else src
        chunks = [AudioChunk(samples=src[i:i + step], rate=rate, channels=ch)
                  for i in range(0, src.shape[0], step)]
        t0 = time.perf_counter()
        for c in chunks:
            seg.feed(c)
        out[f"segmenter_ms_per_20ms_chunk_{label}"] = round((time.perf_counter() - t0) * 1000 / len(chunks), 3)
    return out


async def _first_audio(tts: Any, text: str) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    first = None
    audio_s = 0.0
    async for chunk in tts.synthesize(text):
        if first is None:
            first = (time.perf_counter() - t0) * 1000
        audio_s += chunk.duration_s
    total = time.perf_counter() - t0
    return first or float("nan"), total / max(audio_s, 1e-6), total * 1000


def tts_speed(settings: Any, repeats: int) -> dict[str, Any]:
    from sayso.tts.espeak import EspeakTts
    from sayso.tts.piper import PiperTts

    one = "Opening the Guardian for you now."
    three = ("Here is the summary of the page. The article is about train times to Leeds, which "
             "change next week. You can read the full timetable on the operator's site.")
    from sayso.tts import piper

    piper._VOICES.clear()  # measure the voice load, not the cache
    out: dict[str, Any] = {}
    for label, make in (("piper joe (1 thread)", lambda: PiperTts(settings=settings)),
                        ("espeak-ng en-us", lambda: EspeakTts(settings=settings))):
        t0 = time.perf_counter()
        tts = make()
        if isinstance(tts, PiperTts):
            tts.load()
        load_ms = (time.perf_counter() - t0) * 1000
        asyncio.run(_first_audio(tts, "Ready."))
        row: dict[str, Any] = {"load_ms": round(load_ms, 1)}
        for name, text in (("1 sentence", one), ("3 sentences", three)):
            res = [asyncio.run(_first_audio(tts, text)) for _ in range(repeats)]
            row[f"first_audio_ms, {name}"] = med([r[0] for r in res])
            row[f"rtf, {name}"] = round(statistics.median(r[1] for r in res), 3)
        out[label] = row
        print(f"  {label}: {row}", file=sys.stderr)
    return out


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 commands, 3 repeats")
    ap.add_argument("--out", type=Path, default=None, help="directory for speech.json")
    ap.add_argument("--base", default="", help="Whisper base directory, or 'auto' (installed parts)")
    ap.add_argument("--only", default="latency,wer,vad,tts", help="comma list of parts to run")
    ap.add_argument("--no-pad", action="store_true", help="also measure tiny.en WER without padding")
    args = ap.parse_args()
    settings = load_settings()
    parts = set(args.only.split(","))
    repeats = 3 if args.quick else 5
    texts = dev_commands(10 if args.quick else None)
    from sayso.stt.faster_whisper import FasterWhisperStt
    from sayso.stt.models import resolve_model

    tiny = resolve_model("", settings.cache_dir)
    base = None
    if args.base:
        base = resolve_model("base", settings.cache_dir) if args.base == "auto" else Path(args.base)
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_average_start": os.getloadavg()},
                              "settings": {
        "stt_threads": settings.stt_threads, "stt_beam_size": settings.stt_beam_size,
        "stt_pad_ms": settings.stt_pad_ms, "vad_silence_ms": settings.vad_silence_ms}}
    if "latency" in parts:
        print(f"STT latency (median of {repeats})", file=sys.stderr)
        result["stt_latency_ms"] = {"tiny.en": stt_latency(settings, tiny, repeats)}
        if base is not None:
            result["stt_latency_ms"]["base"] = stt_latency(settings, base, repeats)
    if "wer" in parts:
        renders = render_all(texts, settings)
        result["wer"] = {}
        configs: list[tuple[str, Any]] = [("tiny.en", settings)]
        if args.no_pad:
            configs.append(("tiny.en, no padding", settings.model_copy(update={"stt_pad_ms": 0})))
        if base is not None:
            configs.append(("base", settings.model_copy(update={"stt_model": str(base)})))
        for label, cfg in configs:
            print(f"WER {label} ({len(texts)} commands)", file=sys.stderr)
            stt = FasterWhisperStt(settings=cfg)
            result["wer"][label] = stt_accuracy(stt, texts, renders, settings)
            save(args.out, result)
    if "vad" in parts:
        result["vad"] = vad_cost(settings)
        print(f"VAD {result['vad']}", file=sys.stderr)
    if "tts" in parts:
        result["tts"] = tts_speed(settings, repeats)
    result["load_average"] = os.getloadavg()
    save(args.out, result)
    print(markdown(result))


def save(out: Path | None, result: dict[str, Any]) -> None:
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "speech.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


def markdown(r: dict[str, Any]) -> str:
    lines = []
    if "stt_latency_ms" in r:
        lines += ["| STT latency (median) | " + " | ".join(r["stt_latency_ms"]["tiny.en"]) + " |",
                  "|---|" + "---|" * len(r["stt_latency_ms"]["tiny.en"])]
        for model, rows in r["stt_latency_ms"].items():
            for who in ("sayso", "defaults"):
                lines.append(f"| {model}, {who} settings | " +
                             " | ".join(f"{v[who]:.0f} ms" for v in rows.values()) + " |")
        lines.append("")
    if "wer" in r:
        conds = list(next(iter(r["wer"].values())))
        lines += ["| WER (ms/utterance) | " + " | ".join(conds) + " |", "|---|" + "---|" * len(conds)]
        for model, rows in r["wer"].items():
            lines.append(f"| {model} | " + " | ".join(
                f"{rows[c]['wer']:.1%} ({rows[c]['ms_median']:.0f})" for c in conds) + " |")
        lines.append("")
    if "vad" in r:
        lines += ["| VAD | ms |", "|---|---|"] + [f"| {k} | {v} |" for k, v in r["vad"].items()] + [""]
    if "tts" in r:
        cols = [k for k in next(iter(r["tts"].values()))]
        lines += ["| TTS | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
        for name, row in r["tts"].items():
            lines.append(f"| {name} | " + " | ".join(str(row[c]) for c in cols) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
