"""Logging setup: stdlib, one line per event, a turn id on every record, secrets redacted."""

from __future__ import annotations

import contextvars
import logging
import re
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


MAX_LOG_CHARS = 2000  # a record longer than this is cut: logs never hold a whole page
_SECRETS: set[str] = set()
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@"), r"\1***@"),  # user:pass@ in URLs
    (re.compile(r"(?i)\b(authorization|proxy-authorization)(\s*[:=]\s*)(?:(bearer|basic|token)\s+)?[^\s,;'\"]+"),
     r"\1\2\3 ***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"(?i)\b([a-z0-9_-]*(?:api[_-]?key|apikey|token|secret|passw(?:or)?d|pwd|auth|session[_-]?id|"
                r"access[_-]?key|client[_-]?secret)[a-z0-9_-]*)(['\"]?\s*[:=]\s*['\"]?)[^\s&,;'\"}]+"), r"\1\2***"),
    (re.compile(r"\b(sk-[A-Za-z0-9_-]{12,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|"
                r"AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"), "***"),
)


def register_secret(value: str) -> None:
    """A value (a password, an API key) that must never appear in a log line."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def _describe_arg(value: object) -> object:
    """Raw audio and other big binary arguments become a short description."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    shape = getattr(value, "shape", None)
    if shape is not None and getattr(value, "dtype", None) is not None and getattr(value, "size", 0) > 16:
        return f"<array {tuple(shape)} {value.dtype}>"  # type: ignore[attr-defined]
    return value


def redact(text: str, *, limit: int = MAX_LOG_CHARS) -> str:
    """``text`` without credentials (URL user:pass, auth headers, key=value secrets, known
    secrets, common token shapes), cut to ``limit`` characters."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    if len(text) > limit:
        text = f"{text[:limit]}… [{len(text) - limit} more characters cut]"
    return text


class RedactionFilter(logging.Filter):
    """Makes every record safe to keep: no raw audio, no whole pages, no credentials.

    The message is formatted here (binary and array arguments described, not dumped), redacted
    and cut; a traceback is redacted the same way.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if isinstance(record.args, tuple):
                record.args = tuple(_describe_arg(a) for a in record.args)
            elif isinstance(record.args, dict):
                record.args = {k: _describe_arg(v) for k, v in record.args.items()}
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be kept
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, limit=MAX_LOG_CHARS * 4)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, limit=MAX_LOG_CHARS * 4)
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
    handler.addFilter(RedactionFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "urllib3", "selenium", "faster_whisper", "gradio", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
