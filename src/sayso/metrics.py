"""Prometheus metrics and the per-turn summary log line, both read from TurnEvents.

Two small sinks for the one event stream (``sayso.events``):

- :class:`Metrics` turns events into Prometheus series: stage latencies (from the end of
  speech, or the turn start for typed turns), turns by path and outcome, errors by code, tool
  calls, browser relaunches and active sessions. It keeps its own registry (plus the process
  collector: RSS, CPU), so tests and the benchmark can make a fresh one.
- :class:`TurnSummaryLog` writes one INFO line per finished turn with its stage durations and
  its turn id, e.g. ``turn done path=fast outcome=ok stt=512 intent=530 action=811 audio=900
  total=933 (ms)``.

The web app calls :func:`mount_metrics` on its FastAPI app to serve ``GET /metrics`` (the
process-wide :func:`get_metrics` also counts the browser driver's relaunches);
``sayso bench --serve-metrics PORT`` uses :func:`serve_metrics`. Subscribe both sinks to an
:class:`~sayso.events.EventFanout` (``fanout.subscribe(get_metrics().sink)``).

Conventions read from event data (all optional): ``intent-end`` ``{"local": bool}``;
``tool-start``/``tool-end`` ``{"tool": name, "ok": bool}``; ``error`` ``{"code": "..."}``.
Browser relaunches are not turn events: the driver reports them (``follow_browser_relaunches``).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    start_http_server,
)

from sayso.events import (
    ErrorEvent,
    IntentEnd,
    ToolEnd,
    ToolStart,
    TurnEvent,
    durations,
)

log = logging.getLogger(__name__)

#: seconds; voice latencies live between 50 ms and tens of seconds
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0)
#: stages observed, as named by :func:`sayso.events.durations`
STAGES = ("stt", "intent", "first_token", "action", "first_audio", "total")
#: turns whose end never came are forgotten after this many newer turns
MAX_OPEN_TURNS = 256
_END_TYPES = ("turn-end", "cancelled")


def turn_path(events: list[TurnEvent]) -> str:
    """How a turn was handled: ``fast`` (local intent), ``llm``, or ``none`` (no intent)."""
    for ev in events:
        if ev.type == "intent-end":
            return "fast" if ev.get(IntentEnd).local else "llm"
    for ev in events:
        if ev.type == "llm-first-token":
            return "llm"
    return "none"


def turn_timings(events: list[TurnEvent]) -> dict[str, float]:
    """The turn's stage durations: its summary's, else measured from its events."""
    summary = events[-1].summary if events else None
    return dict(summary.timings_ms) if summary is not None else durations(events)


def turn_outcome(events: list[TurnEvent]) -> str:
    """``cancelled``, ``error`` (an error event was seen) or ``ok``."""
    types = {ev.type for ev in events}
    if "cancelled" in types:
        return "cancelled"
    return "error" if "error" in types else "ok"


class Metrics:
    """Prometheus series fed by TurnEvents. Thread-safe; call it (or ``.sink``) per event."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        if process:
            ProcessCollector(registry=self.registry)
        r = self.registry
        self.stage_seconds = Histogram(
            "sayso_stage_latency_seconds",
            "Time from the end of speech (typed turns: the turn start) to each stage.",
            ["stage", "path"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.tool_seconds = Histogram(
            "sayso_tool_seconds", "Duration of one tool call in the browser.",
            ["tool"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.turns = Counter("sayso_turns", "Finished turns.", ["path", "outcome"], registry=r)
        self.errors = Counter("sayso_errors", "Errors by stable error code.", ["code"], registry=r)
        self.tool_calls = Counter("sayso_tool_calls", "Tool calls by tool and result.",
                                  ["tool", "ok"], registry=r)
        self.browser_relaunches = Counter("sayso_browser_relaunches",
                                          "Times a browser was restarted after it died.", registry=r)
        self.active_sessions = Gauge("sayso_active_sessions", "Open user sessions.", registry=r)
        self._lock = threading.Lock()
        self._open: OrderedDict[str, list[TurnEvent]] = OrderedDict()
        self._tool_t0: dict[tuple[str, str], float] = {}

    # --- the sink -------------------------------------------------------------------------
    def __call__(self, event: TurnEvent) -> None:
        self.observe(event)

    @property
    def sink(self) -> Metrics:
        return self

    def observe(self, event: TurnEvent) -> None:
        """Account one event; a turn's latencies are observed when its end arrives."""
        p = event.payload
        if isinstance(p, ErrorEvent):
            self.errors.labels(code=p.code or "unknown").inc()
        elif isinstance(p, ToolStart):
            with self._lock:
                self._tool_t0[(event.turn_id, p.tool or "?")] = event.t_ms
        elif isinstance(p, ToolEnd):
            tool, ok = p.tool or "?", p.ok
            self.tool_calls.labels(tool=tool, ok="true" if ok else "false").inc()
            with self._lock:
                t0 = self._tool_t0.pop((event.turn_id, tool), None)
            if t0 is not None:
                self.tool_seconds.labels(tool=tool).observe(max(0.0, event.t_ms - t0) / 1000.0)
        with self._lock:
            events = self._open.setdefault(event.turn_id, [])
            events.append(event)
            self._open.move_to_end(event.turn_id)
            while len(self._open) > MAX_OPEN_TURNS:
                stale, _ = self._open.popitem(last=False)
                self._drop_tools(stale)
            if event.type not in _END_TYPES:
                return
            events = self._open.pop(event.turn_id)
            self._drop_tools(event.turn_id)
        self._finish(events)

    @property
    def open_turns(self) -> int:
        """Turns seen but not ended yet (at most MAX_OPEN_TURNS: a turn that never ends is forgotten)."""
        with self._lock:
            return len(self._open)

    def _drop_tools(self, turn_id: str) -> None:
        for key in [k for k in self._tool_t0 if k[0] == turn_id]:
            del self._tool_t0[key]

    def _finish(self, events: list[TurnEvent]) -> None:
        path = turn_path(events)
        self.turns.labels(path=path, outcome=turn_outcome(events)).inc()
        for stage, ms in turn_timings(events).items():
            if stage in STAGES and ms >= 0:
                self.stage_seconds.labels(stage=stage, path=path).observe(ms / 1000.0)

    # --- things that are not turn events --------------------------------------------------
    def browser_relaunched(self) -> None:
        """Count one browser restart (the browser driver may call this directly)."""
        self.browser_relaunches.inc()

    def follow_browser_relaunches(self) -> Callable[[], None]:
        """Count every relaunch that ``sayso.browser.driver`` reports; returns an unsubscribe."""
        from sayso.browser.driver import on_relaunch

        return on_relaunch(lambda _reason: self.browser_relaunched())

    @contextmanager
    def session(self) -> Iterator[None]:
        """Count a user session as active while the ``with`` block runs."""
        self.active_sessions.inc()
        try:
            yield
        finally:
            self.active_sessions.dec()

    # --- exposition -----------------------------------------------------------------------
    def render(self) -> tuple[bytes, str]:
        """(body, content type) of the Prometheus text exposition."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def value(self, name: str, **labels: str) -> float | None:
        """One sample's current value (tests, the benchmark), e.g. ``value("sayso_turns_total",
        path="fast", outcome="ok")``."""
        return self.registry.get_sample_value(name, labels or None)


class TurnSummaryLog:
    """A sink that logs one line per finished turn: path, outcome, stage durations (ms)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or log
        self._lock = threading.Lock()
        self._open: OrderedDict[str, list[TurnEvent]] = OrderedDict()

    def __call__(self, event: TurnEvent) -> None:
        with self._lock:
            self._open.setdefault(event.turn_id, []).append(event)
            self._open.move_to_end(event.turn_id)
            while len(self._open) > MAX_OPEN_TURNS:
                self._open.popitem(last=False)
            if event.type not in _END_TYPES:
                return
            events = self._open.pop(event.turn_id)
        self._log.info("%s", summary_line(events), extra={"turn_id": event.turn_id})


_SHOWN = {"first_token": "llm", "first_audio": "audio"}


def summary_line(events: list[TurnEvent]) -> str:
    """``turn done path=fast outcome=ok stt=512 intent=530 action=811 audio=900 total=933 (ms)``."""
    # "first_token=" would trip the log redaction of secrets ("token=..."): call it "llm"
    parts = [f"{_SHOWN.get(k, k)}={v:.0f}" for k, v in turn_timings(events).items()]
    codes = sorted({ev.get(ErrorEvent).code for ev in events if ev.type == "error"})
    err = f" errors={','.join(codes)}" if codes else ""
    timing = " ".join(parts) + " (ms)" if parts else "(no timings)"
    return f"turn done path={turn_path(events)} outcome={turn_outcome(events)}{err} {timing}"


_default: Metrics | None = None
_default_lock = threading.Lock()


def get_metrics() -> Metrics:
    """The process-wide Metrics the web app exposes (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Metrics()
            _default.follow_browser_relaunches()
        return _default


def mount_metrics(app: Any, metrics: Metrics | None = None, *, path: str = "/metrics") -> None:
    """Serve ``GET /metrics`` from a FastAPI/Starlette app (e.g. Gradio's ``demo.app``).

    The route goes first, so a catch-all route of the host app cannot shadow it.
    """
    from starlette.responses import Response
    from starlette.routing import Route

    source = metrics or get_metrics()

    def endpoint(_request: Any) -> Response:
        body, content_type = source.render()
        return Response(body, media_type=content_type)

    app.router.routes.insert(0, Route(path, endpoint, methods=["GET"]))


def serve_metrics(port: int, metrics: Metrics | None = None, *, host: str = "127.0.0.1") -> Any:
    """A standalone ``/metrics`` HTTP server in a daemon thread (``bench --serve-metrics``).

    Returns the server; call ``.shutdown()`` to stop it.
    """
    server, _thread = start_http_server(port, addr=host, registry=(metrics or get_metrics()).registry)
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server
