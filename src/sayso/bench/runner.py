"""``sayso bench``: replay spoken scenarios through the real pipeline and the naive baseline.

Everything real: the bundled models, a headless Chromium driven by Selenium against the local
test site (served here on 127.0.0.1), the assistant built by the agent's factory. Timings are
read from TurnEvents only.

How real time is kept: our pipeline works while the user is still talking (speculative STT in
the pause, early end of turn), so its clips are PACED: 20 ms chunks (the frames a streaming
microphone hands over), each no earlier than its last sample's time after the first chunk, as a
microphone would deliver them.
The end of speech is then ``t_first_chunk + speech_end`` (known from the rendering). The
baseline does nothing during speech, so its clips are fed as fast as they go and the end of
speech is put back on the clock from the endpointer's decision (``stats.eos_unpaced``).

Each scenario goes through both systems back to back (the order alternates), so the two meet
the same load on a shared machine; they ask the LLM with the same cached decision prefix, so
neither evicts the other's cache. Each system has one unmeasured warm-up turn first, and our
assistant's conversation is cleared before each scenario (they are unrelated single turns).

After the timed scenarios: word error rate on real human recordings (STT only), the full run's
accuracy sweep (every dev command in several voices, clean and at 20 dB, through our pipeline
only, fed as fast as it goes: accuracy, not time), intent accuracy on text, the web app's cold
start and, when asked (or in the full run), the web app end to end in a real Chromium page
(:mod:`sayso.bench.webapp`). bench.json and bench.md are rewritten after every scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sayso.bench import stats
from sayso.bench.baseline import BaselinePipeline
from sayso.bench.components import Parts, load_parts
from sayso.bench.intents import intent_accuracy
from sayso.bench.report import plot, write_json, write_markdown
from sayso.bench.scenarios import (
    Rendered,
    build_scenarios,
    build_sweep,
    load_commands,
    read_rendered,
    render,
)
from sayso.bench.system import RssSampler, app_cold_start, load_avg, machine
from sayso.bench.voices import real_clips
from sayso.config import Settings
from sayso.events import EventFanout, TurnEvent, now_ms
from sayso.metrics import Metrics, TurnSummaryLog, serve_metrics
from sayso.types import AudioChunk, ToolCall, Utterance

log = logging.getLogger(__name__)

#: a streaming microphone hands over 20 ms frames (the segmenter takes any size at once)
CHUNK_MS = 20
TURN_TIMEOUT_S = 180.0
BENCH_LLM_TIMEOUT_S = 120.0
WARMUP_TEXT = "what is two plus two"


@dataclass(frozen=True, slots=True)
class BenchOptions:
    quick: bool = False
    out_dir: Path | None = None
    commands: tuple[Path, ...] = ()  # more TSVs for intent accuracy
    limit: int | None = None  # at most N scenarios and N intent rows per file
    serve_metrics: int | None = None
    baseline: bool = True
    cold_start: bool = True
    chunk_ms: int = CHUNK_MS
    progress: bool = True
    sweep: bool | None = None  # the accuracy sweep; None: in the full run only
    webapp: bool | None = None  # the web app end to end; None: in the full run only
    webapp_turns: int = 10
    real_speech: bool = True  # WER on the installed recordings of real speech

    @property
    def do_sweep(self) -> bool:
        return (not self.quick) if self.sweep is None else self.sweep

    @property
    def do_webapp(self) -> bool:
        return (not self.quick) if self.webapp is None else self.webapp


def default_commands() -> Path:
    """The bundled development command set (a copy of the team's commands-dev.tsv)."""
    return Path(str(resources.files("sayso.bench").joinpath("data", "commands-dev.tsv")))


def run_bench(settings: Settings, options: BenchOptions) -> dict[str, Any]:
    """Run the benchmark; write bench.json, bench.md (after every scenario) and bench.png (at
    the end); return the result dict."""
    out_dir = options.out_dir or settings.data_dir / "bench" / datetime.now().strftime("%Y%m%d-%H%M%S")
    live = Live(options, settings, out_dir)
    with _progress(options.progress) as progress:
        asyncio.run(_run(settings, options, progress, live))
    result = live.snapshot(complete=True)
    png = plot(result, out_dir)
    result["files"]["png"] = str(png) if png else None
    write_json(result, out_dir)
    write_markdown(result, out_dir)
    return result


class Live:
    """The result so far: everything measured, rewritten to bench.json and bench.md after every
    scenario, so a run that is cut keeps what it measured."""

    def __init__(self, opts: BenchOptions, settings: Settings, out_dir: Path) -> None:
        self.opts, self.settings, self.out_dir = opts, settings, out_dir
        self.t_start = now_ms()
        self.machine = machine()
        self.records: list[stats.TurnRecord] = []
        self.intents: list[dict[str, Any]] = []
        self.load_ms: dict[str, float | None] = {}
        self.cold: dict[str, Any] = {"pipeline": None, "app": None, "app_note": "not measured"}
        self.real: dict[str, Any] = {}
        self.webapp: dict[str, Any] = {}
        self.rss: RssSampler | None = None  # while the models run
        self.peak_rss: dict[str, float] = {"process": 0.0, "with_children": 0.0}  # after
        self.total = 0  # scenarios planned (timed + sweep)

    def snapshot(self, *, complete: bool = False) -> dict[str, Any]:
        done = len({(r.scenario_id, r.sweep) for r in self.records})
        result = _assemble(self, complete=complete)
        result["progress"] = {"complete": complete, "done": done, "total": self.total}
        result["files"] = {"json": str(self.out_dir / "bench.json"), "md": str(self.out_dir / "bench.md"),
                           "png": None}
        return result

    def save(self) -> None:
        result = self.snapshot()
        write_json(result, self.out_dir)
        write_markdown(result, self.out_dir)


class _Collector:
    """Collects the events of the scenario being replayed (all turn ids)."""

    def __init__(self) -> None:
        self.events: list[TurnEvent] | None = None

    def __call__(self, event: TurnEvent) -> None:
        if self.events is not None:
            self.events.append(event)

    @contextlib.contextmanager
    def collect(self):  # -> Iterator[list[TurnEvent]]
        self.events = []
        try:
            yield self.events
        finally:
            self.events = None


async def _run(settings: Settings, opts: BenchOptions, progress: Any, live: Live) -> None:
    from sayso.testsite import TestSite

    dev = load_commands(default_commands())
    scenarios = build_scenarios(dev, quick=opts.quick, limit=opts.limit)
    sweep = build_sweep(dev, limit=opts.limit) if opts.do_sweep else []
    live.total = len(scenarios) + len(sweep)
    cache = settings.cache_dir
    task = progress.add_task("rendering voices", total=live.total)
    rendered: list[Rendered] = []
    for s in [*scenarios, *sweep]:
        rendered.append(await asyncio.to_thread(render, s, cache, settings))
        progress.advance(task)
    timed, swept = rendered[:len(scenarios)], rendered[len(scenarios):]

    metrics = Metrics()
    server = serve_metrics(opts.serve_metrics, metrics) if opts.serve_metrics else None
    fan, collector = EventFanout(), _Collector()
    fan.subscribe(metrics)
    fan.subscribe(TurnSummaryLog())
    fan.subscribe(collector)
    records = live.records
    with RssSampler() as rss, TestSite() as site:
        live.rss = rss
        bench_settings = _bench_settings(settings, site.base_url)
        progress.update(task, description="loading models and the browser", completed=0, total=None)
        t_ready = now_ms()
        parts = await load_parts(bench_settings, fan, site.url("/"))
        live.cold["pipeline"] = round(now_ms() - t_ready, 1)
        live.load_ms = parts.load_ms
        try:
            n = len(timed) * (2 if opts.baseline else 1)
            progress.update(task, description="replaying scenarios", completed=0, total=n)
            base = BaselinePipeline(stt=parts.stt, llm=parts.llm, tts=parts.tts,
                                    browser=parts.browser, max_tokens=bench_settings.llm_max_tokens)
            await _warmup_text(parts.assistant)
            if opts.baseline and timed:
                await _baseline_warmup(base, parts, timed[0], opts.chunk_ms)
            for i, r in enumerate(timed):
                # each scenario through both systems back to back (the order alternates), so
                # both meet the same load on this shared machine: paired, not blocks
                order = ("sayso", "baseline") if i % 2 == 0 else ("baseline", "sayso")
                for system in order:
                    if system == "sayso":
                        records.append(await _ours(parts, r, site.base_url, fan, collector, opts))
                    elif opts.baseline:
                        records.append(await _baseline(base, r, parts, site.base_url, fan, collector,
                                                       opts.chunk_ms))
                    else:
                        continue
                    progress.advance(task)
                live.save()
            clips = real_clips() if opts.real_speech else []
            if clips:
                progress.update(task, description="real speech (STT only)", completed=0, total=len(clips))
                live.real = await _real_speech(parts, clips, on_clip=lambda: progress.advance(task))
                live.save()
            if swept:
                progress.update(task, description="accuracy sweep (ours, untimed)", completed=0, total=len(swept))
                for r in swept:
                    records.append(await _ours(parts, r, site.base_url, fan, collector, opts, paced=False))
                    progress.advance(task)
                    live.save()
            for f in [default_commands(), *opts.commands]:
                rows = len(load_commands(f)) if not opts.limit else min(opts.limit, len(load_commands(f)))
                progress.update(task, description=f"intent accuracy on {f.name}", completed=0, total=rows)
                live.intents.append(await intent_accuracy(parts.llm, bench_settings, f, limit=opts.limit,
                                                          on_row=lambda: progress.advance(task)))
                live.save()
        finally:
            await parts.close()
    live.rss = None
    live.peak_rss = rss.to_json()
    if opts.cold_start:
        progress.update(task, description="web app cold start", completed=0, total=None)
        app_ms, note = await asyncio.to_thread(app_cold_start, settings.data_dir)
        live.cold.update(app=app_ms, app_note=note)
        live.save()
    if opts.do_webapp:
        from sayso.bench.webapp import measure_webapp

        progress.update(task, description=f"web app end to end ({opts.webapp_turns} turns in Chromium)",
                        completed=0, total=None)
        live.webapp = await asyncio.to_thread(measure_webapp, opts.webapp_turns, live.out_dir)
        live.save()
    if server is not None:
        server.shutdown()


async def _real_speech(parts: Parts, clips: list[Any], on_clip: Any) -> dict[str, Any]:
    """WER of our STT on recordings of real people (whole clips, no endpointing)."""
    pairs, rows = [], []
    for clip in clips:
        try:
            audio = await asyncio.to_thread(clip.audio)
            t0 = now_ms()
            heard = (await parts.stt.transcribe(Utterance(audio=audio))).text
            ms = round(now_ms() - t0, 1)
        except Exception as exc:  # one unreadable recording is a note, not the end of the run
            log.warning("real speech clip %s failed: %s", clip.id, exc)
            heard, ms = "", None
        pairs.append((clip.text, heard))
        rows.append({"id": clip.id, "source": clip.source, "text": clip.text, "heard": heard, "stt_ms": ms})
        on_clip()
    return {**stats.wer(pairs), "sources": sorted({c.source for c in clips}), "clips": rows}


def _bench_settings(settings: Settings, base_url: str) -> Settings:
    """Headless, the test site allowed and used as the search engine (the bench is offline), and a
    patient LLM timeout: on a shared, loaded machine a slow turn is a result, not a failure."""
    hosts = sorted({*settings.browser_allowlist, "127.0.0.1", "localhost"})
    return settings.model_copy(update={"browser_allowlist": hosts, "home_url": base_url + "/",
                                       "browser_headless": True,
                                       "search_engine": base_url + "/search?q={query}",
                                       "llm_timeout_s": max(settings.llm_timeout_s, BENCH_LLM_TIMEOUT_S)})


# --- one scenario through our pipeline -----------------------------------------------------
async def _ours(parts: Parts, r: Rendered, base_url: str, fan: EventFanout, collector: _Collector,
                opts: BenchOptions, *, paced: bool = True) -> stats.TurnRecord:
    """Mic chunks (paced, or as fast as they go for the untimed sweep) -> streaming segmenter
    (speculative STT, early end) -> assistant."""
    rec = _record(r, "sayso")
    await _reset_browser(parts.browser, base_url, r.scenario.expected)
    clear = getattr(parts.assistant, "clear_history", None)
    if clear is not None:  # scenarios are unrelated single turns, like the baseline's
        clear()
    audio = await asyncio.to_thread(read_rendered, r)
    t_first: list[float] = []
    with collector.collect() as events:
        try:
            async with asyncio.timeout(TURN_TIMEOUT_S):
                chunks = _paced(audio, opts.chunk_ms, t_first) if paced else _unpaced(audio, opts.chunk_ms)
                utt = await _first_utterance(parts.segmenter(fan), chunks)
                if utt is None:
                    rec.error = "no speech detected"
                else:
                    async for _ev in parts.assistant.voice_turn(utt):
                        pass
        except TimeoutError:
            rec.error = f"no turn end within {TURN_TIMEOUT_S:.0f} s"
        except Exception as exc:  # a broken turn is a result, not the end of the benchmark
            log.warning("scenario %s failed: %s", r.scenario.id, exc)
            rec.error = f"{type(exc).__name__}: {exc}"
    rec.events = _one_turn(events)
    if t_first:
        rec.eos_t_ms = stats.eos_paced(t_first[0], r.speech_end_ms)
    elif (vad_end := rec.first("vad-end")) is not None:
        rec.eos_t_ms = stats.eos_unpaced(vad_end, r.speech_end_ms, opts.chunk_ms)
    return rec


async def _first_utterance(segmenter: Any, chunks: AsyncIterator[AudioChunk]) -> Utterance | None:
    gen = segmenter.segment(chunks)
    try:
        async for utt in gen:
            return utt
        return None
    finally:
        await gen.aclose()


async def _paced(audio: AudioChunk, chunk_ms: int, t_first: list[float]) -> AsyncIterator[AudioChunk]:
    """The clip as a microphone delivers it: chunk k when its last sample has been spoken."""
    step = max(1, int(audio.rate * chunk_ms / 1000))
    t0 = now_ms()
    t_first.append(t0 - chunk_ms)  # the first chunk's samples started chunk_ms before it arrives
    for i in range(0, audio.frames, step):
        due = t_first[0] + (min(i + step, audio.frames) / audio.rate) * 1000.0
        delay = (due - now_ms()) / 1000.0
        if delay > 0:
            await asyncio.sleep(delay)
        yield AudioChunk(samples=audio.samples[i:i + step], rate=audio.rate)


async def _unpaced(audio: AudioChunk, chunk_ms: int) -> AsyncIterator[AudioChunk]:
    step = max(1, int(audio.rate * chunk_ms / 1000))
    for i in range(0, audio.frames, step):
        yield AudioChunk(samples=audio.samples[i:i + step], rate=audio.rate)


def _one_turn(events: list[TurnEvent]) -> list[TurnEvent]:
    """The events of the scenario's first turn, in arrival order.

    The segmenter's events (``vad-start``/``vad-end``) and the turn's (``turn-start`` ...
    ``turn-end``) share the utterance's turn id.
    """
    ids = [e.turn_id for e in events if e.type in ("vad-end", "turn-start")]
    return [e for e in events if e.turn_id == ids[0]] if ids else []


# --- one scenario through the baseline -----------------------------------------------------
async def _baseline(base: BaselinePipeline, r: Rendered, parts: Parts, base_url: str,
                    fan: EventFanout, collector: _Collector, chunk_ms: int) -> stats.TurnRecord:
    rec = _record(r, "baseline")
    await _reset_browser(parts.browser, base_url, r.scenario.expected)
    audio = await asyncio.to_thread(read_rendered, r)
    with collector.collect() as events:
        try:
            async with asyncio.timeout(TURN_TIMEOUT_S):
                await base.voice_turn(audio, segmenter=parts.segmenter(fan, speculative=False), sink=fan,
                                      chunk_ms=chunk_ms)
        except TimeoutError:
            rec.error = f"no turn end within {TURN_TIMEOUT_S:.0f} s"
        except Exception as exc:
            log.warning("baseline %s failed: %s", r.scenario.id, exc)
            rec.error = f"{type(exc).__name__}: {exc}"
    rec.events = _one_turn(events)
    vad_end = rec.first("vad-end")
    if vad_end is not None:
        rec.eos_t_ms = stats.eos_unpaced(vad_end, r.speech_end_ms, chunk_ms)
    return rec


def _record(r: Rendered, system: str) -> stats.TurnRecord:
    s = r.scenario
    return stats.TurnRecord(scenario_id=s.id, system=system, group=s.group, text=s.text,
                            expected=s.expected, voice=s.voice.label, condition=s.condition,
                            speech_end_ms=r.speech_end_ms, kind=s.kind, sweep=s.sweep)


# --- browser state before each scenario ----------------------------------------------------
def _start_pages(expected: str) -> list[str]:
    """Pages to visit so the command has something to act on (the last one is current)."""
    tool, _, arg = expected.partition(":")
    if tool == "click" and arg.startswith("#"):
        return ["/search?q=pasta"]
    if tool == "media":
        return ["/video.html"]
    if tool in ("back", "forward"):
        return ["/", "/news.html"]
    if tool == "scroll":
        return ["/long.html"]
    if tool in ("read_page", "summarize_page", "read_headings"):
        return ["/article.html"]
    return ["/"]


async def _reset_browser(browser: Any, base_url: str, expected: str) -> None:
    """Close extra tabs and open the scenario's start page(s); never raises."""
    tool = expected.partition(":")[0]
    try:
        state = await browser.state()
        for _ in range(max(0, len(state.tabs) - 1)):
            await browser.execute(ToolCall("close_tab"))
        for path in _start_pages(expected):
            await browser.execute(ToolCall("navigate", {"url": base_url + path}))
        if tool == "forward":
            await browser.execute(ToolCall("back"))
        if tool in ("switch_tab", "close_tab"):
            for path in ("/news.html", "/about.html"):
                await browser.execute(ToolCall("new_tab", {"url": base_url + path}))
    except Exception as exc:  # the turn will show what the browser can still do
        log.warning("could not prepare the browser: %s", exc)


# --- warm-up ------------------------------------------------------------------------------
async def _warmup_text(assistant: Any) -> None:
    """One unmeasured turn: a running app has its caches warm."""
    try:
        async with asyncio.timeout(TURN_TIMEOUT_S):
            async for _ in assistant.text_turn(WARMUP_TEXT):
                pass
    except Exception as exc:
        log.warning("warm-up turn failed: %s", exc)


async def _baseline_warmup(base: BaselinePipeline, parts: Parts, r: Rendered, chunk_ms: int) -> None:
    audio = await asyncio.to_thread(read_rendered, r)
    with contextlib.suppress(Exception):
        async with asyncio.timeout(TURN_TIMEOUT_S):
            await base.voice_turn(audio, segmenter=parts.segmenter(None, speculative=False),
                                  sink=lambda e: None, chunk_ms=chunk_ms)


# --- the result ----------------------------------------------------------------------------
def _wer_by(records: list[stats.TurnRecord], attr: str) -> dict[str, Any]:
    return {k: stats.wer((r.text, r.transcript) for r in records if getattr(r, attr) == k)
            for k in sorted({getattr(r, attr) for r in records})}


def _assemble(live: Live, *, complete: bool) -> dict[str, Any]:
    opts, settings, records = live.opts, live.settings, live.records
    tab = stats.table(records)
    breakdown = stats.stage_breakdown(records)
    ours = [r for r in records if r.system == "sayso" and not r.error]
    rss = live.rss.to_json() if live.rss is not None else live.peak_rss
    return {
        "schema": 2,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if opts.quick else "full",
        "duration_s": round((now_ms() - live.t_start) / 1000.0, 1),
        "machine": {**live.machine, "load_avg_at_end": load_avg()},
        "method": {
            "clock": "time.monotonic ms; every mark is a TurnEvent time minus the end of speech",
            "ours_feed": f"paced in real time, {opts.chunk_ms} ms chunks",
            "baseline_feed": f"fed at once in {opts.chunk_ms} ms chunks; end of speech placed from "
                             "the endpointer's decision",
            "order": "each scenario through both systems back to back, order alternating",
            "kinds": "by the expected call (what the user meant): question if a plain answer is "
                     "expected, fast if the fast path maps the words said to the expected call, else llm",
            "accuracy": "the turn's first tool call and key argument match the expected one "
                        "(sayso.agent.evaluate), or no call for a question",
            "sweep": "every dev command in the sweep voices, clean and 20 dB, ours only, fed as fast "
                     "as it goes (accuracy and WER, not time)" if opts.do_sweep else "off",
            "chunk_ms": opts.chunk_ms,
        },
        "settings": {k: getattr(settings, k) for k in (
            "stt", "stt_model", "stt_beam_size", "stt_threads", "llm", "llm_model", "llm_threads",
            "tts", "tts_threads", "vad_silence_ms", "vad_speculative_ms", "browser")},
        "table": tab,
        "ratio_to_baseline": stats.ratios(tab),
        "stages": breakdown,
        "dominant_stage": stats.dominant(breakdown),
        "accuracy": {system: stats.accuracy(records, system) for system in stats.SYSTEMS},
        "wer": {"overall": stats.wer((r.text, r.transcript) for r in ours),
                "by_condition": _wer_by(ours, "condition"), "by_voice": _wer_by(ours, "voice"),
                "real": live.real},
        "webapp": live.webapp,
        "intent_accuracy": live.intents,
        "peak_rss_mb": rss,
        "load_ms": live.load_ms,
        "cold_start_ms": live.cold,
        "failures": [{"scenario": r.scenario_id, "system": r.system, "error": r.error}
                     for r in records if r.error],
        "turns": [r.to_json() for r in records],
    }


@contextlib.contextmanager
def _progress(enabled: bool):  # -> Iterator[Progress-like]
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, disable=not enabled, transient=True)
    with progress:
        yield progress
