"""The benchmark's arithmetic: marks from the end of speech, kinds, accuracy, p95, ratios, WER,
the table, the timeline, and results that survive a cut run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sayso.bench import stats
from sayso.bench.report import markdown
from sayso.bench.scenarios import QUICK, build_scenarios, compose, expected_kind, load_commands
from sayso.bench.voices import real_clips
from sayso.bench.webapp import summarize_turns
from sayso.events import TurnEvent

ROOT = Path(__file__).resolve().parents[2]


def record(system: str, sid: str, *, local: bool | None, group: str = "command",
           stt: float = 600, intent: float = 620, action: float | None = 900,
           audio: float | None = 1100, text: str = "scroll to the top", expected: str = "scroll:top",
           tool: str = "scroll", args: dict | None = None, voice: str = "v",
           condition: str = "clean") -> stats.TurnRecord:
    t = 10_000.0  # end of speech on the event clock
    ev = [TurnEvent("vad-start", sid, t - 1500), TurnEvent("vad-end", sid, t + 540, {"stream_ms": 2540}),
          TurnEvent("stt-end", sid, t + stt, {"text": "Scroll to the top."})]
    if local is not None:
        ev.append(TurnEvent("intent-end", sid, t + intent, {"local": local}))
    if action is not None:
        ev += [TurnEvent("tool-start", sid, t + action - 50,
                         {"tool": tool, "args": {"direction": "top"} if args is None else args}),
               TurnEvent("tool-end", sid, t + action, {"tool": tool, "ok": True})]
    if audio is not None:
        ev.append(TurnEvent("tts-first-audio", sid, t + audio))
    ev.append(TurnEvent("turn-end", sid, t + max(1500.0, action or 0, audio or 0) + 100))
    rec = stats.TurnRecord(scenario_id=sid, system=system, group=group, text=text,
                           expected=expected, voice=voice, condition=condition,
                           speech_end_ms=2000.0, eos_t_ms=t, events=ev)
    stats.classify([rec])
    return rec


def test_marks_are_measured_from_the_end_of_speech() -> None:
    r = record("sayso", "a", local=True)
    assert r.marks() == {"endpoint": 540.0, "transcript": 600.0, "intent": 620.0, "action": 900.0,
                         "first_audio": 1100.0, "total": 1600.0}
    assert r.in_order()
    r.events.insert(0, r.events.pop())  # turn-end first: out of order
    assert not r.in_order()


def test_baseline_end_of_speech_comes_from_the_endpointer_decision() -> None:
    vad_end = TurnEvent("vad-end", "x", 5000.0, {"stream_ms": 2600.0})
    # the endpointer decided 600 ms of audio after speech ended at 2000 ms in the clip
    assert stats.eos_unpaced(vad_end, 2000.0) == 4400.0
    # with 250 ms chunks the decision can only come when the chunk ending at 2750 ms arrived
    assert stats.eos_unpaced(vad_end, 2000.0, chunk_ms=250) == 4250.0
    assert stats.eos_paced(1000.0, 2000.0) == 3000.0


def test_kinds_follow_what_the_user_meant_and_ratios_compare_the_same_scenarios() -> None:
    q = dict(group="question", action=None, text="who painted the mona lisa", expected="answer")
    llm = dict(text="show me more of the page", expected="scroll:down", args={"direction": "down"})
    recs = [record("sayso", "a", local=True, action=700, audio=None),
            record("baseline", "a", local=False, action=2800, audio=3500),
            record("sayso", "b", local=False, intent=1500, action=1800, audio=2000, **llm),
            record("baseline", "b", local=False, action=3600, audio=4000, **llm),
            record("sayso", "q", local=False, audio=1900, **q),
            record("baseline", "q", local=False, audio=3800, **q)]
    assert [r.kind for r in recs] == ["fast", "fast", "llm", "llm", "question", "question"]
    tab = stats.table(recs)
    ratio = stats.ratios(tab)
    assert ratio["fast"]["action"] == {"p50": 0.25, "p95": 0.25} and ratio["fast"]["first_audio"]["p50"] is None
    assert ratio["question"]["first_audio"]["p50"] == 0.5
    segs = stats.stage_breakdown(recs)["question"]["sayso"]
    assert sum(segs.values()) == tab["question"]["sayso"]["total"]["median"]  # one turn: exact
    assert list(segs) == ["endpointing", "stt", "intent/llm", "tts", "rest"]
    result = {"mode": "quick", "duration_s": 12.0,
              "machine": {"cpu_count": 2, "load_avg_at_start": [1.5, 1.2, 1.0], "load_avg_at_end": [2.5, 1.4, 1.1]},
              "table": tab, "ratio_to_baseline": ratio, "dominant_stage": stats.dominant(stats.stage_breakdown(recs)),
              "accuracy": {s: stats.accuracy(recs, s) for s in stats.SYSTEMS},
              "wer": {"overall": stats.wer([("a b", "a b")]), "by_condition": {}},
              "intent_accuracy": [], "peak_rss_mb": {"process": 900.0, "with_children": 1800.0},
              "load_ms": {"stt": 800.0}, "cold_start_ms": {"pipeline": 9000.0, "app": 4000.0},
              "webapp": summarize_turns({"turns": [{"path": "live", "page_ms": 700.0}, {"path": "live", "page_ms": 900.0}]})}
    text = markdown(result)
    assert "| web app in Chromium, live voice (WebSocket) | sayso | 2 | – | – | – | 800 / 890 |" in text
    assert "| browser command, fast path | sayso | 1 |" in text
    assert "0.25x (0.25x)" in text
    assert "load 1.50/1.20/1.00 at start, 2.50/1.40/1.10 at end" in text
    assert "Spoken-command accuracy" in text and "100% (3/3)" in text


def test_a_misheard_fast_path_command_stays_in_its_kind_and_counts_as_a_miss() -> None:
    # "page down" misheard as "Page count.": the LLM answered instead of scrolling
    rec = record("sayso", "m", local=False, action=None, text="page down", expected="scroll:down")
    assert rec.kind == "fast" and not rec.correct
    right = record("sayso", "n", local=True, text="page down", expected="scroll:down", args={"direction": "down"})
    wrong_arg = record("sayso", "o", local=True, text="page down", expected="scroll:down", args={"direction": "up"})
    assert right.correct and not wrong_arg.correct
    assert stats.table([rec, right])["fast"]["sayso"]["total"]["n"] == 2  # both timed in their kind
    # a question answered with an action is a miss; answered in words is right
    q_act = record("sayso", "p", local=False, text="thank you", expected="answer", group="question")
    q_ok = record("sayso", "q", local=False, action=None, text="thank you", expected="answer", group="question")
    assert q_act.kind == q_ok.kind == "question" and not q_act.correct and q_ok.correct
    assert expected_kind("what's the weather like in berlin search it", "search:weather in berlin") == "llm"
    assert expected_kind("scroll to the bottom", "scroll:bottom") == "fast"


def test_accuracy_reads_the_actions_of_the_turn_summary() -> None:
    from sayso.events import ActionRecord, TurnSummary

    rec = record("sayso", "s", local=True, action=None, text="page down", expected="scroll:down")
    end = rec.events.pop()
    summary = TurnSummary(transcript="Page down.",
                          actions=(ActionRecord(tool="scroll", args={"direction": "down"}, ok=True),))
    rec.events.append(TurnEvent("turn-end", "s", end.t_ms, summary))
    assert rec.calls == [("scroll", {"direction": "down"})] and rec.correct
    wrong = TurnSummary(actions=(ActionRecord(tool="navigate", args={"url": "https://pagedown.com"}),))
    rec.events[-1] = TurnEvent("turn-end", "s", end.t_ms, wrong)
    assert not rec.correct


def test_accuracy_is_reported_by_voice_and_noise_condition() -> None:
    recs = [record("sayso", "a", local=True, voice="espeak-ng:en-us@175", condition="clean"),
            record("sayso", "b", local=True, voice="piper:joe@175", condition="clean"),
            record("sayso", "c", local=False, action=None, voice="espeak-ng:en-us@175", condition="snr10"),
            record("sayso", "d", local=True, voice="piper:joe@175", condition="snr20"),
            record("baseline", "a", local=False, action=None, voice="espeak-ng:en-us@175", condition="clean")]
    acc = stats.accuracy(recs)
    assert acc["overall"] == {"accuracy": 0.75, "right": 3, "n": 4}
    assert acc["by_condition"]["snr10"] == {"accuracy": 0.0, "right": 0, "n": 1}
    assert acc["by_condition"]["clean"]["accuracy"] == 1.0
    assert acc["by_voice"]["espeak-ng:en-us@175"] == {"accuracy": 0.5, "right": 1, "n": 2}
    assert acc["wrong"][0]["expected"] == "scroll:top" and acc["wrong"][0]["got"] == "answer"
    assert stats.accuracy(recs, "baseline")["overall"]["right"] == 0
    recs[0].error = "no speech detected"  # a broken turn is a miss, not left out
    assert stats.accuracy(recs)["overall"]["right"] == 2


def test_p95_lies_between_the_two_slowest_turns() -> None:
    s = stats.summarize([100.0] * 18 + [200.0, 1000.0])
    assert s["median"] == 100.0 and s["max"] == 1000.0 and s["n"] == 20
    assert 200.0 < s["p95"] < 1000.0
    assert stats.summarize([])["p95"] is None


def test_quick_mode_holds_all_three_kinds_even_when_limited_to_three() -> None:
    cmds = load_commands(ROOT / "src/sayso/bench/data/commands-dev.tsv")
    quick = build_scenarios(cmds, quick=True)
    assert [s.text for s in quick] == list(QUICK)
    assert {s.kind for s in build_scenarios(cmds, quick=True, limit=3)} == {"fast", "llm", "question"}
    full = build_scenarios(cmds)
    assert sum(s.kind == "llm" for s in full) >= 3  # the dev set has one; the bench adds more
    assert len({s.voice for s in full}) >= 8


def test_timeline_of_the_median_turn_has_a_bar_per_stage_from_the_end_of_speech() -> None:
    recs = [record("sayso", sid, local=False, intent=600 + d, action=900 + d, audio=1100 + d)
            for sid, d in (("a", 0), ("b", 400), ("c", 100))]
    turns = [r.to_json() for r in recs]
    med = stats.median_turn(turns, "fast")
    assert med is not None and med["scenario"] == "c"  # action 1000: the middle of 900/1000/1300
    spans = {name: (a, b) for name, a, b in stats.timeline(med["events"])}
    assert spans["vad-end"] == (0.0, 540.0)
    assert spans["stt"] == (540.0, 600.0)
    assert spans["intent"] == (600.0, 700.0)
    assert spans["action"] == (950.0, 1000.0)
    assert spans["first audio"] == (1000.0, 1200.0)
    assert list(spans) == [s for s in stats.TIMELINE if s in spans]


def test_real_speech_clips_come_with_their_words(tmp_path) -> None:
    lib = tmp_path / "ps" / "librivox"
    lib.mkdir(parents=True)
    (lib / "transcription").write_text("<s> he was not an ill disposed young man </s> (book-0880)\n")
    (lib / "book-0880.wav").write_bytes(b"RIFF")
    (tmp_path / "ps" / "goforward.raw").write_bytes(b"\0\0" * 1600)
    alsa = tmp_path / "alsa"
    alsa.mkdir()
    for name in ("Front_Center.wav", "Noise.wav"):
        (alsa / name).write_bytes(b"RIFF")
    clips = {c.id: c for c in real_clips(tmp_path / "ps", alsa)}
    assert set(clips) == {"librivox-0880", "goforward", "alsa-front_center"}
    assert clips["librivox-0880"].text == "he was not an ill disposed young man"
    assert clips["alsa-front_center"].text == "front center"
    assert clips["goforward"].audio().frames == 1600


def test_web_app_figures_prefer_the_time_to_audio_played_in_the_page() -> None:
    old = summarize_turns({"turns": [{"first_audio": 900.0, "endpoint_ms": 600.0},
                                     {"first_audio": 1100.0, "endpoint_ms": 500.0}, {"transcript": "x"}]})
    assert old["paths"]["record"]["median_ms"] == 1550.0
    assert old["paths"]["record"]["n"] == 2 and old["paths"]["record"]["turns"] == 3
    new = summarize_turns({"turns": [{"path": "live", "page_ms": 800.0, "server_first_audio": 1.0},
                                     {"path": "live", "page_ms": 1000.0},
                                     {"path": "record", "page_ms": 3000.0}],
                           "barge": [{"barge_ms": 120.0}, {"barge_ms": 200.0}]})
    assert new["paths"]["live"]["median_ms"] == 900.0 and new["paths"]["record"]["median_ms"] == 3000.0
    assert new["paths"]["live"]["measured"] == "played in the page"
    assert new["barge"]["median_ms"] == 160.0 and "note" not in new
    assert "note" in summarize_turns({"turns": [{"path": "live"}]})


CUT_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sayso.bench.runner import BenchOptions, Live
    from sayso.config import Settings
    sys.path.insert(0, sys.argv[2])
    from test_bench_stats import record

    live = Live(BenchOptions(quick=True), Settings(), Path(sys.argv[1]))
    live.total = 1000
    for i in range(1000):
        live.records += [record("sayso", f"s{i}", local=True), record("baseline", f"s{i}", local=False)]
        live.save()
        print(i + 1, flush=True)
        time.sleep(0.01)
""")


def test_results_are_written_as_the_run_goes_and_survive_a_cut_run(tmp_path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CUT_RUN, str(tmp_path), str(Path(__file__).parent)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "SAYSO_DATA_DIR": str(tmp_path)})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if int(line) >= 3:
                break
        proc.send_signal(signal.SIGKILL)  # cut, possibly in the middle of a write
    finally:
        proc.wait(timeout=30)
    result = json.loads((tmp_path / "bench.json").read_text())
    done = result["progress"]["done"]
    assert not result["progress"]["complete"] and 3 <= done < 1000
    assert len(result["turns"]) == 2 * done
    assert result["table"]["fast"]["sayso"]["action"]["n"] == done
    assert result["machine"]["load_avg_at_start"] and result["machine"]["load_avg_at_end"]
    table = (tmp_path / "bench.md").read_text()
    assert f"PARTIAL: {done} of 1000 scenarios" in table or f"PARTIAL: {done - 1} of 1000" in table


def test_word_error_rate_ignores_case_punctuation_and_spelled_digits() -> None:
    assert stats.wer([("switch to tab three", "Switch to tab 3.")])["wer"] == 0.0
    assert stats.wer([("page down", "Bitch, not on it.")])["wer"] == 2.0  # 2 subs + 2 inserts / 2


def test_scenarios_cycle_voices_and_noise_and_know_where_speech_ends(tmp_path) -> None:
    tsv = tmp_path / "c.tsv"
    tsv.write_text("# comment\nscroll up\tscroll:up\nwho are you\tanswer\n")
    cmds = load_commands(tsv)
    scen = build_scenarios(cmds, questions=("why is the sky blue",), extra=())
    assert [s.group for s in scen] == ["command", "question", "question"]
    assert len({s.voice for s in scen}) == 3 and [s.condition for s in scen] == ["clean", "snr20", "snr10"]
    import numpy as np

    speech = np.sin(np.linspace(0, 800, 16000)).astype(np.float32)  # 1 s of "speech"
    audio, start, end = compose(speech, snr_db=10.0, seed=1)
    assert start == 400.0 and abs(end - 1400.0) < 20
    noise = audio[: int(0.3 * 16000)]
    assert 0 < float(np.sqrt(np.mean(noise**2))) < 0.2  # noise is there, under the speech
