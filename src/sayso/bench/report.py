"""Benchmark output: the Markdown table (stdout), the JSON file and the stacked-bar PNG."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sayso.bench.stats import KIND_TITLES, KINDS, MARK_TITLES, MARKS, SYSTEMS
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
    return f"{summary['median']:.0f} / {summary['p90']:.0f} / {summary['max']:.0f}"


def _load(mach: Mapping[str, Any]) -> str:
    start, end = mach.get("load_avg_at_start") or [], mach.get("load_avg_at_end") or []
    if not start:
        return "unknown"
    return f"{start[0]:.1f} at start" + (f", {end[0]:.1f} at end" if end else "")


def markdown(result: Mapping[str, Any]) -> str:
    """The table of the issue: per kind and system, p50 / p90 / max ms from the end of speech."""
    lines = [
        f"sayso bench ({result['mode']}), {result['machine']['cpu_count']} cores, "
        f"load {_load(result['machine'])}, {result['duration_s']:.0f} s; "
        "times in ms from the end of speech, p50 / p90 / max",
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
    lines += ["", "Ours / baseline (median; < 1 is faster):", ""]
    lines.append("| scenario kind | first audio | browser action done | turn done | slowest stage (ours) |")
    lines.append("|---|---|---|---|---|")
    for kind in KINDS:
        r = result["ratio_to_baseline"][kind]
        fmt = [f"{r[m]:.2f}x" if r[m] is not None else "–" for m in ("first_audio", "action", "total")]
        lines.append(f"| {KIND_TITLES[kind]} | {' | '.join(fmt)} | {result['dominant_stage'].get(kind, '–')} |")
    lines += ["", *extras(result)]
    return "\n".join(lines)


def extras(result: Mapping[str, Any]) -> list[str]:
    out = []
    w = result["wer"]
    if w["overall"]["wer"] is not None:
        by = ", ".join(f"{k} {v['wer']:.1%}" for k, v in w["by_condition"].items() if v["wer"] is not None)
        out.append(f"- STT word error rate: {w['overall']['wer']:.1%} over {w['overall']['words']} words "
                   f"({by})")
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


def write_json(result: Mapping[str, Any], out_dir: Path) -> Path:
    path = out_dir / "bench.json"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot write the results to {out_dir}: {exc.strerror}.") from exc
    return path


def plot(result: Mapping[str, Any], out_dir: Path) -> Path | None:
    """Stacked horizontal bars: per kind, ours and the baseline, split by stage (mean ms)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        log.warning("matplotlib is not installed: no plot (pip install 'sayso[bench]')")
        return None
    breakdown = result["stages"]
    rows = [(kind, system) for kind in KINDS for system in SYSTEMS if breakdown[kind][system]]
    fig, ax = plt.subplots(figsize=(10, 1.9 + 0.55 * max(len(rows), 1)))
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
    ax.set_title(f"sayso bench ({result['mode']}): where the time goes")
    ax.axvline(700, color="black", linestyle=":", linewidth=0.9, label="target: command done 700 ms")
    ax.axvline(1200, color="black", linestyle="--", linewidth=0.9, label="target: first audio 1200 ms")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=7, ncol=4, frameon=False)
    ax.margins(x=0.12)
    fig.tight_layout()
    path = out_dir / "bench.png"
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def rerender(json_path: Path) -> str:
    """Recompute the table, ratios, stage breakdown and plot from the turns of a bench.json
    (``python -m sayso.bench.report bench.json``), after the code that summarises them changed."""
    from sayso.bench.stats import breakdown_from_marks, dominant, ratios, table_from_marks

    result = json.loads(Path(json_path).read_text(encoding="utf-8"))
    turns = [(t["kind"], t["system"], t["marks_ms"]) for t in result["turns"] if not t["run_error"]]
    result["table"] = table_from_marks(turns)
    result["ratio_to_baseline"] = ratios(result["table"])
    result["stages"] = breakdown_from_marks(turns)
    result["dominant_stage"] = dominant(result["stages"])
    out_dir = Path(json_path).parent
    png = plot(result, out_dir)
    result.setdefault("files", {})["png"] = str(png) if png else None
    write_json(result, out_dir)
    return markdown(result)


if __name__ == "__main__":
    import sys

    print(rerender(Path(sys.argv[1])))
