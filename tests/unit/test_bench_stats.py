"""The benchmark's arithmetic: marks from the end of speech, kinds, ratios, WER, the table."""

from __future__ import annotations

from sayso.bench import stats
from sayso.bench.report import markdown
from sayso.bench.scenarios import build_scenarios, compose, load_commands
from sayso.events import TurnEvent


def record(system: str, sid: str, *, local: bool | None, group: str = "command",
           stt: float = 600, intent: float = 620, action: float | None = 900,
           audio: float | None = 1100) -> stats.TurnRecord:
    t = 10_000.0  # end of speech on the event clock
    ev = [TurnEvent("vad-start", sid, t - 1500), TurnEvent("vad-end", sid, t + 540, {"stream_ms": 2540}),
          TurnEvent("stt-end", sid, t + stt, {"text": "Scroll to the top."})]
    if local is not None:
        ev.append(TurnEvent("intent-end", sid, t + intent, {"local": local}))
    if action is not None:
        ev += [TurnEvent("tool-start", sid, t + action - 50, {"tool": "scroll"}),
               TurnEvent("tool-end", sid, t + action, {"tool": "scroll", "ok": True})]
    if audio is not None:
        ev.append(TurnEvent("tts-first-audio", sid, t + audio))
    ev.append(TurnEvent("turn-end", sid, t + max(1500.0, action or 0, audio or 0) + 100))
    return stats.TurnRecord(scenario_id=sid, system=system, group=group, text="scroll to the top",
                            expected="scroll:top", voice="v", condition="clean",
                            speech_end_ms=2000.0, eos_t_ms=t, events=ev)


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


def test_kinds_follow_our_pipeline_and_ratios_compare_the_same_scenarios() -> None:
    recs = [record("sayso", "a", local=True, action=700, audio=None),
            record("baseline", "a", local=False, action=2800, audio=3500),
            record("sayso", "b", local=False, intent=1500, action=1800, audio=2000),
            record("baseline", "b", local=False, action=3600, audio=4000),
            record("sayso", "q", local=False, group="question", action=None, audio=1900),
            record("baseline", "q", local=False, group="question", action=None, audio=3800)]
    stats.classify(recs)
    assert [r.kind for r in recs] == ["fast", "fast", "llm", "llm", "question", "question"]
    tab = stats.table(recs)
    ratio = stats.ratios(tab)
    assert ratio["fast"]["action"] == 0.25 and ratio["fast"]["first_audio"] is None
    assert ratio["question"]["first_audio"] == 0.5
    segs = stats.stage_breakdown(recs)["question"]["sayso"]
    assert sum(segs.values()) == tab["question"]["sayso"]["total"]["median"]  # one turn: exact
    assert list(segs) == ["endpointing", "stt", "intent/llm", "tts", "rest"]
    result = {"mode": "quick", "duration_s": 12.0, "machine": {"cpu_count": 2}, "table": tab,
              "ratio_to_baseline": ratio, "dominant_stage": stats.dominant(stats.stage_breakdown(recs)),
              "wer": {"overall": stats.wer([("a b", "a b")]), "by_condition": {}},
              "intent_accuracy": [], "peak_rss_mb": {"process": 900.0, "with_children": 1800.0},
              "load_ms": {"stt": 800.0}, "cold_start_ms": {"pipeline": 9000.0, "app": 4000.0}}
    text = markdown(result)
    assert "| browser command, fast path | sayso | 1 |" in text
    assert "0.25x" in text


def test_word_error_rate_ignores_case_punctuation_and_spelled_digits() -> None:
    assert stats.wer([("switch to tab three", "Switch to tab 3.")])["wer"] == 0.0
    assert stats.wer([("page down", "Bitch, not on it.")])["wer"] == 2.0  # 2 subs + 2 inserts / 2


def test_scenarios_cycle_voices_and_noise_and_know_where_speech_ends(tmp_path) -> None:
    tsv = tmp_path / "c.tsv"
    tsv.write_text("# comment\nscroll up\tscroll:up\nwho are you\tanswer\n")
    cmds = load_commands(tsv)
    scen = build_scenarios(cmds, questions=("why is the sky blue",))
    assert [s.group for s in scen] == ["command", "question", "question"]
    assert len({s.voice for s in scen}) == 3 and [s.condition for s in scen] == ["clean", "snr20", "snr10"]
    import numpy as np

    speech = np.sin(np.linspace(0, 800, 16000)).astype(np.float32)  # 1 s of "speech"
    audio, start, end = compose(speech, snr_db=10.0, seed=1)
    assert start == 400.0 and abs(end - 1400.0) < 20
    noise = audio[: int(0.3 * 16000)]
    assert 0 < float(np.sqrt(np.mean(noise**2))) < 0.2  # noise is there, under the speech
