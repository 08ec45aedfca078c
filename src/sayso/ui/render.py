"""TurnEvents -> what the page shows: chat messages, action chips, status, latency, browser.

Pure and synchronous: :class:`ConversationView` folds the event stream of one session into
view state, and the ``*_html`` functions turn that state into escaped HTML. Nothing here
decides anything: it only renders what the pipeline reported. Every piece of text that came
from a user, a model or a web page is escaped before it reaches the page.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sayso.events import (
    Audio,
    BrowserStateChanged,
    ErrorEvent,
    ReplyText,
    SttEnd,
    SttPartial,
    ToolEnd,
    ToolStart,
    TtsFirstAudio,
    TurnEvent,
    TurnStart,
    TurnSummary,
    VadEnd,
    VadStart,
)
from sayso.tools import chip_text

Status = Literal["idle", "listening", "hearing", "thinking", "speaking", "offline"]

STATUS_TEXT: dict[str, str] = {
    "idle": "Ready",
    "listening": "Listening",
    "hearing": "Hearing you",
    "thinking": "Thinking",
    "speaking": "Speaking",
    "offline": "Unavailable",
}

MAX_CHIP_ARG = 48
MAX_MESSAGE = 400
_PATH_RE = re.compile(r"(?:[A-Za-z]:)?(?:/[\w.@+-]+){2,}/?")
_TRACE_MARKERS = ("Traceback (most recent call last)", 'File "', "  at ")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def safe_message(text: object) -> str:
    """A message fit for the page: one line, no file paths, no traceback, bounded length."""
    raw = str(text or "").strip()
    for marker in _TRACE_MARKERS:
        if marker in raw:
            raw = raw.split(marker, 1)[0].strip() or "Something went wrong."
    line = raw.splitlines()[0] if raw else ""
    line = _PATH_RE.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1], line)
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


def _short(value: object, limit: int = MAX_CHIP_ARG) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(slots=True)
class Chip:
    tool: str
    args: Mapping[str, Any]
    state: Literal["running", "ok", "failed"] = "running"
    message: str = ""

    def html(self) -> str:
        text = chip_text(self.tool, self.args, ok=self.state != "failed")
        mark = {"running": "…", "ok": "✓", "failed": "✗"}[self.state]
        title = esc(safe_message(self.message)) if self.message else esc(text)
        return (f'<span class="sayso-chip sayso-chip-{self.state}" title="{title}">'
                f'<span aria-hidden="true">{mark}</span> {esc(text)}</span>')


@dataclass(slots=True)
class AssistantEntry:
    chips: list[Chip] = field(default_factory=list)
    text: str = ""
    notices: list[str] = field(default_factory=list)  # errors and interruptions, already safe
    interrupted: bool = False

    def html(self) -> str:
        parts: list[str] = []
        if self.chips:
            parts.append('<span class="sayso-chips">' + " ".join(c.html() for c in self.chips)
                         + "</span>")
        if self.text.strip():
            parts.append(esc(self.text.strip()))
        for note in self.notices:
            parts.append(f'<span class="sayso-notice">{esc(note)}</span>')
        if self.interrupted:
            parts.append('<span class="sayso-notice">(interrupted)</span>')
        return "\n\n".join(parts)

    @property
    def empty(self) -> bool:
        return not (self.chips or self.text.strip() or self.notices or self.interrupted)


@dataclass(slots=True)
class BrowserInfo:
    url: str = ""
    title: str = ""
    tabs: tuple[Mapping[str, Any], ...] = ()
    screenshot: bytes | None = None  # viewport JPEG


@dataclass(slots=True)
class Update:
    """What one event changed on the page."""

    chat: bool = False
    status: bool = False
    latency: bool = False
    browser: bool = False
    audio: Any = None  # an AudioChunk to play


class ConversationView:
    """The page state of one session, folded from its TurnEvents."""

    def __init__(self, *, hands_free: bool = False) -> None:
        self.entries: list[tuple[str, object]] = []  # ("user", str) | ("assistant", AssistantEntry)
        self.hands_free = hands_free
        self.mic_on = False  # the page's microphone is streaming
        self.status: Status = "idle"
        self.partial = ""  # what the user is saying, as transcribed so far (stt-partial)
        self.latency: dict[str, float] = {}
        self.latency_kind = "text"
        self.browser = BrowserInfo()
        self._current: AssistantEntry | None = None

    # ------------------------------------------------------------------ inputs
    def user_said(self, text: str) -> None:
        """Show what the user typed or said, and open a fresh assistant reply."""
        self.entries.append(("user", text))
        self._current = None

    def notice(self, text: str) -> None:
        """A message from the app itself (not the assistant's words): shown as a notice."""
        entry = AssistantEntry(notices=[safe_message(text)])
        self.entries.append(("assistant", entry))
        self._current = None

    def idle_status(self) -> Status:
        return "listening" if self.hands_free and self.mic_on else "idle"

    def set_status(self, status: Status) -> bool:
        changed = status != self.status
        self.status = status
        return changed

    def _reply(self) -> AssistantEntry:
        if self._current is None:
            self._current = AssistantEntry()
            self.entries.append(("assistant", self._current))
        return self._current

    # ------------------------------------------------------------------ events
    def apply(self, ev: TurnEvent) -> Update:
        up = Update()
        p = ev.payload
        if isinstance(p, TurnStart):
            up.status = self.set_status("thinking")
        elif isinstance(p, VadStart | VadEnd):
            up.status = self.set_status("hearing" if isinstance(p, VadStart) else "thinking")
            if self.partial:
                self.partial, up.status = "", True
        elif isinstance(p, SttPartial):
            text = p.text.strip()
            if text and text != self.partial and self.status == "hearing":
                self.partial, up.status = text, True
        elif isinstance(p, SttEnd):
            if p.text.strip():
                self.user_said(p.text.strip())
                up.chat = True
        elif isinstance(p, ToolStart):
            self._reply().chips.append(Chip(tool=p.tool, args=p.args))
            up.chat = True
        elif isinstance(p, ToolEnd):
            entry = self._reply()
            chip = next((c for c in reversed(entry.chips) if c.tool == p.tool and c.state == "running"), None)
            if chip is None:
                chip = Chip(tool=p.tool, args=p.args)
                entry.chips.append(chip)
            chip.state = "ok" if p.ok else "failed"
            chip.message = p.message
            up.chat = True
        elif isinstance(p, BrowserStateChanged):
            self.browser.url, self.browser.title = p.url, p.title
            self.browser.tabs = tuple(p.tabs)
            up.browser = True
        elif isinstance(p, ReplyText):
            if p.delta:
                self._reply().text += p.delta
                up.chat = True
        elif isinstance(p, TtsFirstAudio):
            up.status = self.set_status("speaking")
        elif isinstance(p, Audio):
            up.audio = p.chunk
            up.status = self.set_status("speaking")
        elif isinstance(p, ErrorEvent):
            self._reply().notices.append(safe_message(p.message or "Something went wrong."))
            up.chat = True
        elif isinstance(p, TurnSummary):  # turn-end or cancelled
            self._end(p, up)
        return up

    def _end(self, summary: TurnSummary, up: Update) -> None:
        """The turn's summary: its chips as done, its timings, the page after it."""
        entry = self._current
        if summary.actions:
            entry = self._reply()
            entry.chips = [Chip(tool=a.tool, args=a.args, state="ok" if a.ok is not False else "failed",
                                message=a.message) for a in summary.actions]
            up.chat = True
        if summary.cancelled:
            if entry is not None:
                entry.interrupted = True
                up.chat = True
            return
        self.latency = dict(summary.timings_ms)
        self.latency_kind = summary.source
        up.latency = bool(self.latency)
        up.status = self.set_status(self.idle_status())
        if self._current is not None and self._current.empty:
            self.entries = [e for e in self.entries if e[1] is not self._current]
            up.chat = True
        self._current = None

    # ------------------------------------------------------------------ output
    def messages(self) -> list[dict[str, str]]:
        """The chat, in Gradio's messages format (HTML content, escaped)."""
        out: list[dict[str, str]] = []
        for role, item in self.entries:
            if role == "user":
                out.append({"role": "user", "content": esc(item)})
            elif isinstance(item, AssistantEntry) and not item.empty:
                out.append({"role": "assistant", "content": item.html()})
        return out


# ---------------------------------------------------------------------- HTML pieces
def status_html(status: Status, detail: str = "") -> str:
    label = STATUS_TEXT.get(status, status)
    extra = f'<span class="sayso-status-detail">{esc(detail)}</span>' if detail else ""
    return (f'<div class="sayso-status sayso-status-{status}" role="status" aria-live="polite">'
            f'<span class="sayso-dot" aria-hidden="true"></span>'
            f'<span class="sayso-status-label">{esc(label)}</span>{extra}</div>')


LATENCY_STEPS: Sequence[tuple[str, str]] = (
    ("stt", "transcript"),
    ("first_token", "first token"),
    ("action", "action"),
    ("first_audio", "first audio"),
    ("total", "done"),
)


def _fmt_ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def latency_html(timings: Mapping[str, float], kind: str = "voice") -> str:
    start = "end of speech" if kind == "voice" else "sent"
    if not timings:
        body = '<span class="sayso-muted">No turn yet.</span>'
    else:
        steps = [f'<li><span class="sayso-lat-name">{esc(label)}</span> '
                 f'<span class="sayso-lat-val">{_fmt_ms(timings[key])}</span></li>'
                 for key, label in LATENCY_STEPS if key in timings]
        body = (f'<ol class="sayso-latency-steps"><li><span class="sayso-lat-name">{esc(start)}'
                f'</span> <span class="sayso-lat-val">0</span></li>{"".join(steps)}</ol>')
    return (f'<section class="sayso-latency" aria-label="Latency of the last turn">'
            f'<h3>Last turn</h3>{body}</section>')


def browser_html(info: BrowserInfo, note: str = "") -> str:
    """The live browser view: URL, tabs and the latest viewport screenshot."""
    if note:
        return (f'<section class="sayso-browser" aria-label="Browser view">'
                f'<p class="sayso-muted">{esc(note)}</p></section>')
    if not info.url and info.screenshot is None:
        return ('<section class="sayso-browser" aria-label="Browser view"><p class="sayso-muted">'
                'No page open yet. Try &ldquo;open wikipedia&rdquo;.</p></section>')
    active = ' class="sayso-tab-active" aria-current="page"'
    tabs = "".join(
        f'<li{active if t.get("active") else ""}>'
        f'<span class="sayso-tab-n">{esc(t.get("index", i + 1))}</span> '
        f'{esc(_short(t.get("title") or t.get("url") or "untitled", 40))}</li>'
        for i, t in enumerate(info.tabs))
    tab_list = f'<ol class="sayso-tabs" aria-label="Open tabs">{tabs}</ol>' if tabs else ""
    img = ""
    if info.screenshot:
        data = base64.b64encode(info.screenshot).decode("ascii")
        alt = f"Screenshot of the page {info.title or info.url}"
        img = f'<img class="sayso-shot" alt="{esc(alt)}" src="data:image/jpeg;base64,{data}">'
    return (f'<section class="sayso-browser" aria-label="Browser view">'
            f'<div class="sayso-urlbar"><span class="sayso-url" title="{esc(info.url)}">'
            f'{esc(_short(info.url, 90))}</span></div>'
            f'<p class="sayso-page-title">{esc(_short(info.title, 90))}</p>'
            f'{img}'
            f'{tab_list}'
            f'</section>')


def banner_html(notes: Mapping[str, str]) -> str:
    """Which stages are unavailable and why, in one line each (empty when all is well)."""
    if not notes:
        return ""
    items = "".join(f"<li>{esc(safe_message(msg))}</li>" for msg in notes.values())
    return (f'<div class="sayso-banner" role="alert"><strong>Running with less:</strong>'
            f'<ul>{items}</ul></div>')
