"""Benchmark output: the Markdown table (stdout and bench.md), bench.json and bench.png.

bench.json and bench.md are rewritten after every scenario (:func:`write_json`,
:func:`write_markdown`: a temporary file renamed over the old one, so a run cut at any moment
leaves the last complete version); the plot is drawn at the end.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sayso.bench.stats import (
    KIND_TITLES,
    KINDS,
    MARK_TITLES,
    MARKS,
    SYSTEMS,
    TIMELINE,
    median_turn,
    timeline,
)
from sayso.errors import ConfigError

log = logging.getLogger(__name__)

#: the order of the columns of the table (pipeline order; "action" and "first audio" may swap)
COLUMNS = ("endpoint", "transcript", "intent", "first_audio", "action", "total")
#: colours of the stacked segments in the plot
SEGMENT_COLOURS = {
    "endpointing": "#9e9e9e", "stt": "#4e79a7", "intent/llm": "#f28e2b", "browser": "#59a14f",
    "tts": "#e15759", "rest": "#d9d9d9",
}


def _cell(summary: Mapping[str, Any]) -> str:
    if not summary or summary.get("median") is None:
        return "–"
    return f"{summary['median']:.0f} / {summary['p95']:.0f}"


def _triple(load: list[float] | None) -> str:
    return "/".join(f"{x:.2f}" for x in load) if load else "?"


def _load(mach: Mapping[str, Any]) -> str:
    """Load averages (1/5/15 min) at the start and the end (or now, for a partial result)."""
    start = mach.get("load_avg_at_start") or []
    end = mach.get("load_avg_at_end") or []
    if not start:
        return "unknown"
    return f"{_triple(start)} at start" + (f", {_triple(end)} at end" if end else "")


def _ratio(r: Mapping[str, Any] | None) -> str:
    if not r or r.get("p50") is None:
        return "–"
    return f"{r['p50']:.2f}x" + (f" ({r['p95']:.2f}x)" if r.get("p95") is not None else "")


def _pct(a: Mapping[str, Any] | None) -> str:
    if not a or a.get("accuracy") is None:
        return "–"
    return f"{a['accuracy']:.0%} ({a['right']}/{a['n']})"


def markdown(result: Mapping[str, Any]) -> str:
    """The table of the issue: per kind and system, p50 / p95 ms from the end of speech, the
    ratios to the baseline, spoken-command accuracy and WER."""
    progress = result.get("progress") or {}
    state = ("" if progress.get("complete", True) else
             f" PARTIAL: {progress.get('done', 0)} of {progress.get('total', '?')} scenarios so far;")
    lines = [
        f"sayso bench ({result['mode']}), {result['machine']['cpu_count']} cores, "
        f"load {_load(result['machine'])}, {result['duration_s']:.0f} s;{state} "
        "times in ms from the end of speech, p50 / p95",
        "",
        "| scenario kind | system | n | " + " | ".join(MARK_TITLES[c] for c in COLUMNS) + " |",
        "|---|---|---|" + "---|" * len(COLUMNS),
    ]
    tab = result["table"]
    for kind in KINDS:
        for system in SYSTEMS:
            marks = tab[kind][system]
            n = max((marks[m]["n"] for m in MARKS), default=0)
            if not n:
                continue
            cells = " | ".join(_cell(marks[c]) for c in COLUMNS)
            lines.append(f"| {KIND_TITLES[kind]} | {system} | {n} | {cells} |")
    for web in ((result.get("webapp") or {}).get("paths") or {}).values():
        if web.get("median_ms") is not None:  # end of speech -> first audio, in a real page
            lines.append(f"| web app in Chromium, {web['title']} | sayso | {web['n']} | – | – | – | "
                         f"{web['median_ms']:.0f} / {web['p95_ms']:.0f} | – | – |")
    lines += ["", "Ours / baseline, p50 (p95); < 1 is faster, measured in the same run, paired:", ""]
    lines.append("| scenario kind | first audio | browser action done | turn done | slowest stage (ours) |")
    lines.append("|---|---|---|---|---|")
    for kind in KINDS:
        r = result["ratio_to_baseline"][kind]
        fmt = [_ratio(r.get(m)) for m in ("first_audio", "action", "total")]
        lines.append(f"| {KIND_TITLES[kind]} | {' | '.join(fmt)} | {result['dominant_stage'].get(kind, '–')} |")
    lines += ["", *accuracy_lines(result), "", *extras(result)]
    return "\n".join(lines)


def accuracy_lines(result: Mapping[str, Any]) -> list[str]:
    """Spoken-command accuracy (ours) beside WER, by noise condition and by voice."""
    acc = result.get("accuracy") or {}
    ours = acc.get("sayso") or {}
    if not ours or not ours.get("overall", {}).get("n"):
        return ["Spoken-command accuracy: no turns yet."]
    w = result.get("wer") or {}
    base = (acc.get("baseline") or {}).get("overall")
    out = [f"Spoken-command accuracy (the right tool call and key argument, or no call for a "
           f"question): {_pct(ours['overall'])}" + (f"; baseline {_pct(base)}" if base and base.get("n") else ""),
           "", "| by | accuracy | WER |", "|---|---|---|"]
    for group, key in (("by_condition", "by_condition"), ("by_kind", None), ("by_voice", "by_voice")):
        for name, a in ours.get(group, {}).items():
            wer = ((w.get(key) or {}).get(name) or {}).get("wer") if key else None
            label = KIND_TITLES.get(name, name) if group == "by_kind" else name
            out.append(f"| {label} | {_pct(a)} | {f'{wer:.1%}' if wer is not None else '–'} |")
    wrong = ours.get("wrong") or []
    if wrong:
        out.append("")
        out.append("Misses (first 8): " + "; ".join(
            f"\"{m['text']}\" heard \"{m['heard']}\" -> {m['got']} (wanted {m['expected']}, {m['voice']}, "
            f"{m['condition']})" for m in wrong[:8]))
    return out


def extras(result: Mapping[str, Any]) -> list[str]:
    out = []
    w = result["wer"]
    if w["overall"]["wer"] is not None:
        by = ", ".join(f"{k} {v['wer']:.1%}" for k, v in w["by_condition"].items() if v["wer"] is not None)
        out.append(f"- STT word error rate: {w['overall']['wer']:.1%} over {w['overall']['words']} words "
                   f"({by})")
    real = w.get("real") or {}
    if real.get("wer") is not None:
        out.append(f"- STT word error rate on real human speech: {real['wer']:.1%} over {real['words']} words, "
                   f"{real['utterances']} recordings ({', '.join(real.get('sources', []))})")
    web = result.get("webapp") or {}
    for p in (web.get("paths") or {}).values():
        if p.get("median_ms") is not None:
            out.append(f"- web app, {p['title']}: end of speech -> first audio {p['measured']}, "
                       f"p50 {p['median_ms']:.0f} / p95 {p['p95_ms']:.0f} / max {p['max_ms']:.0f} ms "
                       f"over {p['n']} of {p['turns']} turns")
    barge = web.get("barge") or {}
    if barge.get("median_ms") is not None:
        out.append(f"- web app barge-in: overlapping speech -> the page's output silent, p50 "
                   f"{barge['median_ms']:.0f} / max {barge['max_ms']:.0f} ms over {barge['n']} rounds")
    if web.get("note"):
        out.append(f"- web app end to end: {web['note']}")
    for acc in result["intent_accuracy"]:
        if acc.get("accuracy") is None:
            out.append(f"- intent accuracy on {acc['file']}: not measured ({acc.get('note', '')})")
            continue
        out.append(f"- intent accuracy on {acc['file']}: {acc['accuracy']:.1%} ({acc['correct']}/{acc['n']}; "
                   f"fast path took {acc['fast_path']} of them)")
    rss = result["peak_rss_mb"]
    out.append(f"- peak RSS: bench process {rss['process']:.0f} MB, with the browser and other children "
               f"{rss['with_children']:.0f} MB")
    loads = ", ".join(f"{k} {v:.0f} ms" for k, v in result["load_ms"].items() if v is not None)
    out.append(f"- model and component load: {loads}")
    cold = result["cold_start_ms"]
    parts = [f"pipeline ready {cold['pipeline']:.0f} ms" if cold.get("pipeline") is not None else ""]
    if cold.get("app") is not None:
        parts.append(f"web app answering HTTP {cold['app']:.0f} ms")
    elif cold.get("app_note"):
        parts.append(f"web app: {cold['app_note']}")
    out.append("- cold start: " + ", ".join(p for p in parts if p))
    return out


def _replace(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically: a reader (or a cut run) sees the old file or the
    new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"Cannot write the results to {path.parent}: {exc.strerror}.") from exc
    return path


def write_json(result: Mapping[str, Any], out_dir: Path) -> Path:
    return _replace(out_dir / "bench.json", json.dumps(result, indent=2, default=str) + "\n")


def write_markdown(result: Mapping[str, Any], out_dir: Path) -> Path:
    return _replace(out_dir / "bench.md", markdown(result) + "\n")


TIMELINE_COLOURS = {
    "vad-end": "#9e9e9e", "stt": "#4e79a7", "intent": "#f28e2b", "llm first token": "#edc948",
    "action": "#59a14f", "first audio": "#e15759",
}


def plot(result: Mapping[str, Any], out_dir: Path) -> Path | None:
    """bench.png: on top, stacked bars per kind and system split by stage (mean ms); below, a
    flame-style timeline of the median turn of each kind (ours): one bar per stage, from the
    end of speech, with the baseline's median of the same mark for comparison."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        log.warning("matplotlib is not installed: no plot (pip install 'sayso[bench]')")
        return None
    breakdown = result["stages"]
    rows = [(kind, system) for kind in KINDS for system in SYSTEMS if breakdown[kind][system]]
    turns = result.get("turns") or []
    medians = [(kind, t) for kind in KINDS if (t := median_turn(turns, kind)) is not None]
    heights = [2.4 + 0.45 * max(len(rows), 1)] + [0.5 + 0.25 * len(TIMELINE)] * len(medians)
    fig, axes = plt.subplots(len(heights), 1, figsize=(10, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    _stacked(axes[0][0], breakdown, rows, result["mode"])
    for (kind, turn), row in zip(medians, axes[1:], strict=True):
        _timeline(row[0], kind, turn, result)
    fig.tight_layout()
    path = out_dir / "bench.png"
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _stacked(ax: Any, breakdown: Mapping[str, Any], rows: list[tuple[str, str]], mode: str) -> None:
    used: set[str] = set()
    for y, (kind, system) in enumerate(reversed(rows)):
        left = 0.0
        for seg, ms in breakdown[kind][system].items():
            label = None if seg in used else seg
            used.add(seg)
            ax.barh(y, ms, left=left, color=SEGMENT_COLOURS.get(seg, "#bab0ac"), label=label,
                    edgecolor="white", linewidth=0.5)
            left += ms
        ax.text(left + 30, y, f"{left:.0f} ms", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{KIND_TITLES[k]} — {s}" for k, s in reversed(rows)], fontsize=8)
    ax.set_xlabel("ms from the end of speech (mean per stage; the table has medians)")
    ax.set_title(f"sayso bench ({mode}): where the time goes")
    ax.axvline(500, color="black", linestyle=":", linewidth=0.9, label="target: fast-path action 500 ms")
    ax.axvline(900, color="black", linestyle="--", linewidth=0.9, label="target: question first audio 900 ms")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), fontsize=7, ncol=4, frameon=False)
    ax.margins(x=0.12)


def _timeline(ax: Any, kind: str, turn: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """The stages of one turn as a flame-style chart: a row per stage, bars from the end of speech."""
    spans = timeline(turn.get("events") or [])
    order = {name: i for i, name in enumerate(TIMELINE)}
    for name, start, end in spans:
        y = len(TIMELINE) - 1 - order[name]
        ax.barh(y, max(end - start, 4.0), left=start, color=TIMELINE_COLOURS[name], edgecolor="black",
                linewidth=0.3)
        ax.text(end + 15, y, f"{end:.0f}", va="center", fontsize=7)
    ax.set_yticks(range(len(TIMELINE)), list(reversed(TIMELINE)), fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8)
    mark = "first_audio" if kind == "question" else "action"
    base = result["table"][kind]["baseline"][mark]["median"]
    if base is not None:
        ax.axvline(base, color="#7f7f7f", linestyle="--", linewidth=0.9)
        ax.text(base, len(TIMELINE) - 0.4, f" baseline p50 {mark.replace('_', ' ')} {base:.0f}",
                fontsize=7, color="#555555", va="top")
    heard = str(turn.get("transcript", ""))[:40]
    ax.set_title(f"median turn, {KIND_TITLES[kind]}: \"{str(turn.get('text', ''))[:40]}\" heard \"{heard}\" "
                 f"({turn.get('voice', '')}, {turn.get('condition', '')})", fontsize=7)
    ax.set_xlabel("ms from the end of speech", fontsize=7)
    ax.set_ylim(-0.6, len(TIMELINE) - 0.4)
    ax.margins(x=0.1)


def rerender(json_path: Path) -> str:
    """Recompute the table, ratios, stage breakdown and plot from the turns of a bench.json
    (``python -m sayso.bench.report bench.json``), after the code that summarises them changed."""
    from sayso.bench.stats import breakdown_from_marks, dominant, ratios, table_from_marks

    result = json.loads(Path(json_path).read_text(encoding="utf-8"))
    turns = [(t["kind"], t["system"], t["marks_ms"]) for t in result["turns"]
             if not t["run_error"] and not t.get("sweep")]
    result["table"] = table_from_marks(turns)
    result["ratio_to_baseline"] = ratios(result["table"])
    result["stages"] = breakdown_from_marks(turns)
    result["dominant_stage"] = dominant(result["stages"])
    out_dir = Path(json_path).parent
    png = plot(result, out_dir)
    result.setdefault("files", {})["png"] = str(png) if png else None
    write_json(result, out_dir)
    write_markdown(result, out_dir)
    return markdown(result)


if __name__ == "__main__":
    import sys

    print(rerender(Path(sys.argv[1])))
