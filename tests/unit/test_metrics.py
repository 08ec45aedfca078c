"""Prometheus metrics and the per-turn summary line, fed by TurnEvents."""

from __future__ import annotations

import logging

import httpx
import pytest

from sayso.events import EventFanout, TurnEvent
from sayso.metrics import Metrics, TurnSummaryLog, mount_metrics, summary_line


def fast_turn(tid: str = "t1", t0: float = 1000.0) -> list[TurnEvent]:
    return [
        TurnEvent("vad-start", tid, t0 - 900),
        TurnEvent("vad-end", tid, t0),
        TurnEvent("stt-end", tid, t0 + 500, {"text": "scroll down"}),
        TurnEvent("intent-end", tid, t0 + 510, {"local": True, "tool": "scroll"}),
        TurnEvent("tool-start", tid, t0 + 511, {"tool": "scroll"}),
        TurnEvent("tool-end", tid, t0 + 530, {"tool": "scroll", "ok": True}),
        TurnEvent("tts-first-audio", tid, t0 + 800),
        TurnEvent("turn-end", tid, t0 + 1200),
    ]


def failed_llm_turn(tid: str = "t2") -> list[TurnEvent]:
    return [
        TurnEvent("turn-start", tid, 0.0),
        TurnEvent("intent-end", tid, 300.0, {"local": False}),
        TurnEvent("llm-first-token", tid, 900.0),
        TurnEvent("tool-start", tid, 950.0, {"tool": "click"}),
        TurnEvent("tool-end", tid, 1200.0, {"tool": "click", "ok": False}),
        TurnEvent("error", tid, 1210.0, {"code": "browser.gone"}),
        TurnEvent("turn-end", tid, 1500.0),
    ]


def test_a_turn_becomes_latency_and_turn_series() -> None:
    m = Metrics(process=False)
    for ev in fast_turn():
        m(ev)
    assert m.value("sayso_turns_total", path="fast", outcome="ok") == 1
    # end of speech -> action done is 530 ms: inside the 0.7 s bucket, not the 0.5 s one
    assert m.value("sayso_stage_latency_seconds_bucket", stage="action", path="fast", le="0.7") == 1
    assert m.value("sayso_stage_latency_seconds_bucket", stage="action", path="fast", le="0.5") == 0
    assert m.value("sayso_stage_latency_seconds_sum", stage="total", path="fast") == pytest.approx(1.2)
    assert m.value("sayso_tool_seconds_sum", tool="scroll") == pytest.approx(0.019)


def test_errors_tools_relaunches_and_sessions_are_counted() -> None:
    m = Metrics(process=False)
    for ev in failed_llm_turn():
        m(ev)
    from sayso.browser import driver

    unsubscribe = m.follow_browser_relaunches()
    driver.count_relaunch("tab crashed")  # what the driver does after it restarted a browser
    unsubscribe()
    with m.session(), m.session():
        assert m.value("sayso_active_sessions") == 2
    assert m.value("sayso_active_sessions") == 0
    assert m.value("sayso_errors_total", code="browser.gone") == 1
    assert m.value("sayso_tool_calls_total", tool="click", ok="false") == 1
    assert m.value("sayso_turns_total", path="llm", outcome="error") == 1
    assert m.value("sayso_browser_relaunches_total") == 1
    driver.count_relaunch("after unsubscribing")
    assert m.value("sayso_browser_relaunches_total") == 1


def test_turns_that_never_end_are_forgotten() -> None:
    m = Metrics(process=False)
    for i in range(400):
        m(TurnEvent("vad-end", f"lost{i}", float(i)))
    assert m.open_turns <= 256  # bounded memory in a long-running app


def test_summary_line_names_turn_path_and_stage_times(caplog: pytest.LogCaptureFixture) -> None:
    fan = EventFanout()
    fan.subscribe(TurnSummaryLog())
    with caplog.at_level(logging.INFO, logger="sayso.metrics"):
        for ev in fast_turn("abc123"):
            fan(ev)
    [rec] = [r for r in caplog.records if "turn done" in r.getMessage()]
    assert rec.turn_id == "abc123"
    msg = rec.getMessage()
    assert "path=fast" in msg and "stt=500" in msg and "action=530" in msg and "total=1200" in msg
    assert "errors=browser.gone" in summary_line(failed_llm_turn())


async def test_metrics_endpoint_serves_prometheus_text() -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/{rest:path}")
    def catch_all(rest: str) -> dict[str, str]:  # a host app's catch-all must not shadow /metrics
        return {"page": rest}

    m = Metrics()
    mount_metrics(app, m)
    for ev in fast_turn():
        m(ev)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert 'sayso_turns_total{outcome="ok",path="fast"} 1.0' in resp.text
    assert "process_resident_memory_bytes" in resp.text
