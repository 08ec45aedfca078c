"""Logging setup: stdlib, one line per event, a turn id on every record."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

turn_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("sayso_turn_id", default="-")

FORMAT = "%(asctime)s %(levelname)-7s %(name)s [turn=%(turn_id)s] %(message)s"


class TurnIdFilter(logging.Filter):
    """Stamps the current turn id (from a context variable) on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "turn_id"):
            record.turn_id = turn_id_var.get()
        return True


@contextmanager
def turn_context(turn_id: str) -> Iterator[None]:
    token = turn_id_var.set(turn_id)
    try:
        yield
    finally:
        turn_id_var.reset(token)


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once: stderr, one line per record."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_sayso", False):
            root.setLevel(level)
            return
    handler = logging.StreamHandler()
    handler._sayso = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(TurnIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "urllib3", "selenium", "faster_whisper", "gradio", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
