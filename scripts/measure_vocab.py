#!/usr/bin/env python3
"""Spoken-command accuracy before/after the page vocabulary's phonetic recovery.

    .venv/bin/python scripts/measure_vocab.py transcribe --out /tmp/vocab   # STT once (slow)
    .venv/bin/python scripts/measure_vocab.py score --out /tmp/vocab        # fast, repeatable
    .venv/bin/python scripts/measure_vocab.py cost                          # 5,000-link page

``transcribe`` renders the dev commands (shared/data/commands-dev.tsv) with several espeak-ng
voices and Piper, clean and with white noise at 20 dB SNR, cuts them with the real segmenter
and transcribes them with today's STT (settings as configured); the transcripts go to
``transcripts.json`` so ``score`` compares the two recognisers on the very same text.

``score`` runs each transcript through the fast path alone ("before") and through the fast
path with the vocabulary's recovery ("after"; no LLM in either) and counts a command right when
its tool (and key argument) match the expected one; "answer" rows are right when nothing is
done. A recovery that asks ("Did you mean ...?") counts as right only in the "asked" column:
it did not act on a guess, but it did not act either.

``--prompt`` transcribes (and scores) with the page vocabulary as Whisper's initial prompt, so
the two can be compared on the same clips; ``stt_ms`` in the JSON has the median STT time.

``cost`` times one utterance's local decision against a page with 5,000 links (after the
vocabulary was refreshed), beside the fast path alone; ``--browser`` also times reading the
state (links and results included) in real Chromium against reading only the URL and title.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

ESPEAK_VOICES = ("en-us", "en+f3", "en-gb-x-rp", "en-us+m3")
SNR_DB = 20.0


def dev_rows() -> list[tuple[str, str]]:
    from measure_speech import DEV

    path = DEV if DEV.exists() else ROOT / "src" / "sayso" / "bench" / "data" / "commands-dev.tsv"
    rows = []
    for ln in path.read_text(encoding="utf-8").splitlines():
        if ln.strip() and not ln.startswith("#"):
            utt, expected = ln.split("\t")[:2]
            rows.append((utt.strip(), expected.strip()))
    return rows


def transcribe(out: Path, *, prompt: bool = False, voices_wanted: str = "", backend: str = "") -> None:
    from measure_speech import cut_utterances, in_stream

    from sayso.audio.convert import to_16k_mono
    from sayso.config import load_settings
    from sayso.stt.faster_whisper import FasterWhisperStt
    from sayso.tts.espeak import EspeakTts
    from sayso.tts.piper import PiperTts
    from sayso.types import AudioChunk

    settings = load_settings()
    rows = dev_rows()
    voices: dict[str, Any] = {f"espeak {v}": EspeakTts(settings=settings, voice=v) for v in ESPEAK_VOICES}
    voices["piper joe"] = PiperTts(settings=settings)
    if voices_wanted:
        voices = {k: v for k, v in voices.items() if k in voices_wanted.split(",")}
    if backend:  # another speech backend (e.g. moonshine) on the same clips
        from sayso.registry import build

        stt = build("stt", settings.model_copy(update={"stt": backend}))
    else:
        stt = FasterWhisperStt(settings=settings)
    bias = ""
    if prompt:  # the page vocabulary of the test site's home page, as Whisper's initial prompt
        from sayso.agent.vocabulary import Vocabulary

        vocab = Vocabulary()
        vocab.update(home_state())
        bias = vocab.prompt()
    name = file_name(prompt, backend)
    result: dict[str, Any] = {"load_average_start": os.getloadavg(), "rows": rows, "transcripts": {},
                              "prompt": bias, "stt_ms": {}}
    for label, tts in voices.items():
        for cond, noise in (("clean", None), (f"{SNR_DB:.0f} dB", SNR_DB)):
            key = f"{label}, {cond}"
            heard, times, plain_times = [], [], []
            for i, (text, _) in enumerate(rows):
                chunks = tts.synthesize_sync(text)
                audio = np.concatenate([np.asarray(c.samples) for c in chunks])
                clip = to_16k_mono(AudioChunk(samples=audio, rate=chunks[0].rate)).samples
                utts = cut_utterances(in_stream(clip, noise_db=noise, seed=i), settings)
                parts = []
                for j, utt in enumerate(utts):
                    if bias:  # the same clip without the prompt too, in alternating order (same load)
                        pair = [("", plain_times), (bias, times)]
                        for p, where in (pair if (i + j) % 2 else pair[::-1]):
                            t0 = time.perf_counter()
                            got = stt.transcribe_sync(replace(utt, prompt=p))
                            where.append((time.perf_counter() - t0) * 1000)
                            if p:
                                tr = got
                    else:
                        tr = stt.transcribe_sync(utt)
                        times.append(tr.elapsed_ms)
                    parts.append({"text": tr.text, "no_speech_prob": tr.no_speech_prob,
                                  "avg_logprob": tr.avg_logprob})
                heard.append(parts)
            result["transcripts"][key] = heard
            result["stt_ms"][key] = statistics.median(times) if times else 0.0
            if plain_times:
                result.setdefault("stt_ms_without_prompt", {})[key] = statistics.median(plain_times)
            print(key, "done", file=sys.stderr)
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(json.dumps(result, indent=1))


# the test site's home page, as the browser state carries it (for "click login", "click on news")
HOME_LINKS = ("News", "Pricing", "Log in", "About us", "Long read", "Download for Windows", "Download for Mac",
              "Cookie banner page", "Page that opens a new tab", "Video page", "Contact form",
              "Slow page that never finishes", "Toggle dark mode", "Privacy policy")


def home_state() -> Any:
    from sayso.browser.base import BrowserState, PageItem, TabInfo

    url = "http://127.0.0.1:8000/"
    items = (*(PageItem(index=i, text=t, kind="link", href=f"{url}{i}", in_view=True)
               for i, t in enumerate(HOME_LINKS, start=1)),
             PageItem(index=len(HOME_LINKS) + 1, text="Search", kind="field", in_view=True))
    return BrowserState(url=url, title="Sayso Test Home", tabs=(TabInfo(1, "Sayso Test Home", url, True),),
                        items=items)


def file_name(prompt: bool, backend: str) -> str:
    return f"transcripts{'-prompt' if prompt else ''}{'-' + backend if backend else ''}.json"


def score(out: Path, name: str = "transcripts.json") -> None:
    from sayso.agent import fastpath
    from sayso.agent.evaluate import Case, call_matches
    from sayso.agent.recognise import understand
    from sayso.agent.vocabulary import Vocabulary
    from sayso.stt.filters import doubtful

    data = json.loads((out / name).read_text())
    rows = [Case(u, *(e.split(":", 1) if ":" in e else (e, ""))) for u, e in data["rows"]]
    vocab = Vocabulary()
    vocab.update(home_state())
    table: dict[str, dict[str, Any]] = {}
    wrong_after: list[tuple[str, str, str, str]] = []
    asked_wrong: list[tuple[str, str, str, str]] = []
    missed: list[tuple[str, str, str, str]] = []
    for cond, heard in data["transcripts"].items():
        t = {"n": 0, "before": 0, "after": 0, "asked_right": 0, "asked_wrong": 0, "acted_wrong_before": 0,
             "acted_wrong_after": 0, "doubtful": 0}
        for case, parts in zip(rows, heard, strict=True):
            text = " ".join(p["text"].strip() for p in parts).strip()
            doubt = any(doubtful(p["no_speech_prob"], p["avg_logprob"]) for p in parts)
            t["n"] += 1
            t["doubtful"] += doubt
            before = None if (doubt or not text) else fastpath.plan(text)
            after = understand(text, vocab, doubtful=doubt) if text else None
            want_none = case.tool == "answer"
            if want_none:
                t["before"] += not before
                t["after"] += not (after and after.calls)
                t["acted_wrong_before"] += bool(before)
                t["acted_wrong_after"] += bool(after and after.calls)
                continue
            t["before"] += bool(before) and call_matches(case, before[0])
            t["acted_wrong_before"] += bool(before) and not call_matches(case, before[0])
            if after and after.calls:
                ok = call_matches(case, after.calls[0])
                t["after"] += ok
                t["acted_wrong_after"] += not ok
                if not ok:
                    wrong_after.append((cond, case.utterance, text, str(after.calls[0])))
            elif after and after.pending is not None:
                ok = call_matches(case, after.pending)
                t["asked_right" if ok else "asked_wrong"] += 1
                if not ok:
                    asked_wrong.append((cond, case.utterance, text, after.question))
            else:
                missed.append((cond, case.utterance, text, after.question if after else "(LLM)"))
        table[cond] = t
    print("| voice, condition | n | doubtful | right before | right after | asked, right on yes | "
          "asked, wrong | acted wrongly before | after |")
    print("|---|---|---|---|---|---|---|---|---|")
    tot = {k: 0 for k in next(iter(table.values()))}
    for cond, t in table.items():
        for k in tot:
            tot[k] += t[k]
        print(f"| {cond} | {t['n']} | {t['doubtful']} | {t['before']} ({t['before'] / t['n']:.0%}) | "
              f"{t['after']} ({t['after'] / t['n']:.0%}) | {t['asked_right']} | {t['asked_wrong']} | "
              f"{t['acted_wrong_before']} | {t['acted_wrong_after']} |")
    n = tot["n"]
    print(f"| all | {n} | {tot['doubtful']} | {tot['before']} ({tot['before'] / n:.1%}) | {tot['after']} "
          f"({tot['after'] / n:.1%}) | {tot['asked_right']} | {tot['asked_wrong']} | {tot['acted_wrong_before']} | "
          f"{tot['acted_wrong_after']} |")
    for title, rows_ in (("acted wrongly after", wrong_after), ("asked about the wrong thing", asked_wrong),
                         ("not decided locally (the LLM's turn, or a question without a call)", missed)):
        print(f"\n{title}:")
        for w in rows_:
            print("  ", " | ".join(w))


def cost() -> None:
    from sayso.agent import fastpath
    from sayso.agent.phonetic import prepare
    from sayso.agent.recognise import understand
    from sayso.agent.vocabulary import Vocabulary
    from sayso.browser.base import BrowserState, PageItem

    links = [PageItem(index=i, text=f"Headline {i}: a story about topic {i % 97}", kind="link",
                      href=f"https://example.org/{i}", in_view=i < 30) for i in range(1, 5001)]
    state = BrowserState(url="https://example.org/", items=tuple(links), results=tuple(
        PageItem(index=i, text=x.text, kind="result", href=x.href, in_view=True) for i, x in enumerate(links[:50], 1)))
    vocab = Vocabulary()
    prepare(vocab)  # the fixed names (commands, sites) and the espeak-ng library: once per process
    t0 = time.perf_counter()
    vocab.update(state)
    prepare(vocab)
    refresh_ms = (time.perf_counter() - t0) * 1000
    utterances = ["go to the moment", "bring up into your times", "page count", "show me the pricing page",
                  "second one please", "who painted the mona lisa", "scroll down", "click headline 42"]
    blank = Vocabulary()
    understand("warm up", vocab)
    fast, full, empty = [], [], []
    per: dict[str, list[float]] = {u: [] for u in utterances}
    for _ in range(50):  # alternating, so all three meet the same load
        for u in utterances:
            t0 = time.perf_counter()
            fastpath.plan(u)
            fast.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            understand(u, blank)
            empty.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            understand(u, vocab)
            full.append((time.perf_counter() - t0) * 1000)
            per[u].append(full[-1])
    p90 = sorted(full)[int(0.9 * len(full))]
    print(f"load average {os.getloadavg()[0]:.1f}; page terms {len(vocab.page)} of {len(links)} links")
    print(f"refresh (rank + phonemes of a new page, once per page, in the background): {refresh_ms:.1f} ms")
    print(f"per utterance, median of {len(full)}: fast path alone {statistics.median(fast):.3f} ms; "
          f"local decision on a blank page {statistics.median(empty):.3f} ms, on the 5,000-link page "
          f"{statistics.median(full):.3f} ms (p90 {p90:.3f} ms)")
    worst = max(per, key=lambda u: statistics.median(per[u]))
    print(f"slowest utterance: {worst!r}, median {statistics.median(per[worst]):.3f} ms")


def browser_cost(repeats: int = 15) -> None:
    """Reading the state (URL, title, links, results) vs the URL and title alone, real Chromium."""
    import asyncio

    from sayso.browser.page import MAX_STATE_ITEMS, PAGE_INFO_JS, STATE_JS
    from sayso.browser.session import SeleniumBrowser
    from sayso.config import load_settings
    from sayso.testsite import TestSite
    from sayso.types import ToolCall

    async def run() -> None:
        with TestSite() as site:
            settings = load_settings(browser="chromium", browser_headless=True, browser_allowlist=["127.0.0.1"])
            browser = SeleniumBrowser(settings=settings)
            try:
                for path in ("/", "/search?q=cats", "/links?n=5000"):
                    await browser.execute(ToolCall(name="navigate", args={"url": site.url(path)}))
                    old, new = [], []
                    for _ in range(repeats):  # alternating, so both meet the same load
                        for js, args, out in ((PAGE_INFO_JS, (), old), (STATE_JS, (MAX_STATE_ITEMS,), new)):
                            t0 = time.perf_counter()
                            await browser.call(lambda s, js=js, args=args: s.driver.execute_script(js, *args))
                            out.append((time.perf_counter() - t0) * 1000)
                    print(f"{path:16s} URL+title {statistics.median(old):6.1f} ms   with links+results "
                          f"{statistics.median(new):6.1f} ms  (median of {repeats}, load {os.getloadavg()[0]:.1f})")
            finally:
                await browser.close()

    asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stage", choices=("transcribe", "score", "cost"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/sayso-vocab"))
    ap.add_argument("--browser", action="store_true", help="cost: also the state read in real Chromium")
    ap.add_argument("--prompt", action="store_true",
                    help="transcribe/score with the page vocabulary as Whisper's prompt (transcripts-prompt.json)")
    ap.add_argument("--stt", default="", help="transcribe/score: another speech backend, e.g. moonshine")
    ap.add_argument("--voices", default="", help="transcribe: only these voices (comma list, e.g. 'espeak en-us')")
    args = ap.parse_args()
    if args.stage == "transcribe":
        transcribe(args.out, prompt=args.prompt, voices_wanted=args.voices, backend=args.stt)
    elif args.stage == "score":
        score(args.out, file_name(args.prompt, args.stt))
    else:
        cost()
        if args.browser:
            browser_cost()


if __name__ == "__main__":
    main()
