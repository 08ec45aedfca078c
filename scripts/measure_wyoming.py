"""Wyoming round trip vs in-process, for Piper and faster-whisper, measured in the same run.

    .venv/bin/python scripts/measure_wyoming.py [--rounds 3] [--memory]

Starts `sayso worker serve --tts piper --stt faster-whisper` on 127.0.0.1 (a separate process,
models preloaded), builds the same backends in this process, and alternates remote and local
calls on the same phrases (the box is shared and noisy: medians, same run, interleaved).
TTS: time to first audio and to the last chunk; STT: time to the transcript (the audio is the
Piper rendering of the phrase, 16 kHz). `--memory` then runs a worker under a budget too small
for both models with a 2 s idle timeout and prints its memory-manager log and RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PHRASES = [
    "Scroll down.",
    "Opening the first link.",
    "Here are the top headlines from the BBC news front page.",
    "I searched for cheap flights to Lisbon and found three results.",
    "Going back to the previous page.",
    "The page says the store opens at nine in the morning and closes at six.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(port: int, log_path: Path, *extra_env: tuple[str, str], preload: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAYSO_")}
    env.update(dict(extra_env))
    env.setdefault("SAYSO_DATA_DIR", tempfile.mkdtemp(prefix="sayso-measure-"))
    cmd = [sys.executable, "-m", "sayso", "worker", "serve", "--tts", "piper", "--stt",
           "faster-whisper", "--port", str(port)] + (["--preload"] if preload else [])
    proc = subprocess.Popen(cmd, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"worker exited: {log_path.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("worker did not start")


async def timed_tts(tts, text: str) -> tuple[float, float, list]:
    t0 = time.perf_counter()
    first = None
    chunks = []
    async for chunk in tts.synthesize(text):
        if first is None:
            first = time.perf_counter() - t0
        chunks.append(chunk)
    return (first or 0.0) * 1000, (time.perf_counter() - t0) * 1000, chunks


async def timed_stt(stt, utt) -> tuple[float, str]:
    t0 = time.perf_counter()
    tr = await stt.transcribe(utt)
    return (time.perf_counter() - t0) * 1000, tr.text


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):7.0f}"


async def latency(rounds: int) -> None:
    from sayso import registry
    from sayso.audio.convert import to_16k_mono
    from sayso.config import load_settings
    from sayso.stt.wyoming import WyomingStt
    from sayso.tts.wyoming import WyomingTts
    from sayso.types import AudioChunk, Utterance

    port = free_port()
    log_path = Path(tempfile.mkdtemp()) / "worker.log"
    proc = start_worker(port, log_path)
    try:
        url = f"wyoming://127.0.0.1:{port}"
        settings = load_settings(tts=url, stt=url)
        local_tts = registry.build("tts", settings, name="piper")
        local_stt = registry.build("stt", settings, name="faster-whisper")
        remote_tts, remote_stt = WyomingTts(settings=settings), WyomingStt(settings=settings)
        await local_tts.warmup()
        await local_stt.warmup()
        # the utterances: each phrase rendered once by local Piper
        utts = {}
        for text in PHRASES:
            _, _, chunks = await timed_tts(local_tts, text)
            audio = AudioChunk(np.concatenate([c.samples for c in chunks]), chunks[0].rate)
            utts[text] = Utterance(audio=to_16k_mono(audio))
        await timed_tts(remote_tts, "Warm up.")
        await timed_stt(remote_stt, utts[PHRASES[0]])
        res: dict[str, list[float]] = {k: [] for k in (
            "tts_first_local", "tts_first_remote", "tts_total_local", "tts_total_remote",
            "stt_local", "stt_remote")}
        same = 0
        n = 0
        for r in range(rounds):
            for i, text in enumerate(PHRASES):
                order = ("local", "remote") if (r + i) % 2 == 0 else ("remote", "local")
                texts = {}
                for where in order:
                    tts = local_tts if where == "local" else remote_tts
                    stt = local_stt if where == "local" else remote_stt
                    first, total, _ = await timed_tts(tts, text)
                    res[f"tts_first_{where}"].append(first)
                    res[f"tts_total_{where}"].append(total)
                    ms, heard = await timed_stt(stt, utts[text])
                    res[f"stt_{where}"].append(ms)
                    texts[where] = heard
                same += texts["local"] == texts["remote"]
                n += 1
        print(f"\n{n} phrase(s) x 2 paths, interleaved; audio {min(u.audio.duration_s for u in utts.values()):.1f}"
              f"-{max(u.audio.duration_s for u in utts.values()):.1f} s; identical transcripts "
              f"local vs Wyoming: {same}/{n}\n")
        print("| stage | in-process median ms | Wyoming median ms | overhead ms (median of pairs) |")
        print("|---|---|---|---|")
        for label, a, b in (("Piper TTS, first audio", "tts_first_local", "tts_first_remote"),
                            ("Piper TTS, whole phrase", "tts_total_local", "tts_total_remote"),
                            ("faster-whisper STT", "stt_local", "stt_remote")):
            pairs = [y - x for x, y in zip(res[a], res[b], strict=True)]
            print(f"| {label} | {med(res[a])} | {med(res[b])} | {med(pairs)} |")
        pings = []
        for _ in range(20):
            t0 = time.perf_counter()
            await remote_stt.describe()
            pings.append((time.perf_counter() - t0) * 1000)
        print(f"\nprotocol floor: connect + describe + info round trip, median of 20: "
              f"{statistics.median(pings):.1f} ms\n")
        await local_tts.close()
        await local_stt.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def memory() -> None:
    import psutil

    from sayso.config import load_settings
    from sayso.stt.wyoming import WyomingStt
    from sayso.tts.wyoming import WyomingTts
    from sayso.types import Utterance

    port = free_port()
    log_path = Path(tempfile.mkdtemp()) / "worker.log"
    proc = start_worker(port, log_path, ("SAYSO_CPU_MEMORY_BUDGET_MB", "400"),
                        ("SAYSO_MODEL_IDLE_UNLOAD_S", "2"), preload=False)
    rss = lambda: psutil.Process(proc.pid).memory_info().rss / 2**20  # noqa: E731
    try:
        url = f"wyoming://127.0.0.1:{port}"
        settings = load_settings(tts=url, stt=url)
        tts, stt = WyomingTts(settings=settings), WyomingStt(settings=settings)
        print(f"worker RSS at start: {rss():.0f} MiB (budget 400 MB; Piper ~200 + Whisper ~300)")
        _, _, chunks = await timed_tts(tts, "Scroll down.")
        print(f"after TTS: {rss():.0f} MiB")
        from sayso.audio.convert import to_16k_mono
        from sayso.types import AudioChunk

        utt = Utterance(audio=to_16k_mono(AudioChunk(np.concatenate([c.samples for c in chunks]), chunks[0].rate)))
        await timed_stt(stt, utt)
        print(f"after STT: {rss():.0f} MiB")
        await timed_tts(tts, "Done.")
        print(f"after TTS again: {rss():.0f} MiB")
        await asyncio.sleep(4)
        print(f"after 4 s idle: {rss():.0f} MiB\n")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for line in log_path.read_text().splitlines():
        if "sayso.worker.memory" in line:
            print(re.sub(r"^\S+ (\S+) INFO +sayso.worker.memory \[turn=-\] ", r"\1 ", line))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also show the memory manager at work")
    args = ap.parse_args()
    asyncio.run(latency(args.rounds))
    if args.memory:
        asyncio.run(memory())


if __name__ == "__main__":
    main()
