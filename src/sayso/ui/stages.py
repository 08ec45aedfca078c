"""What the web app builds its sessions from, and what is unavailable (and why).

The app never loads a model itself: it asks the agent's factory for an assistant (which
shares the loaded STT/LLM/TTS models between sessions), the browser stage for one browser per
session, and the audio stage for one segmenter per microphone stream. Each of these may be
missing or fail; :class:`Stages` records one sentence per missing stage for the page's banner,
and the app keeps working with what is there (typing without a microphone, text without
speech, answers without a browser).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from sayso.browser.base import Browser
from sayso.config import Settings
from sayso.errors import SaysoError, StageUnavailableError
from sayso.events import EventSink, TurnEvent
from sayso.types import Transcript, Utterance
from sayso.ui.audio_stream import PushSegmenter

log = logging.getLogger(__name__)


@runtime_checkable
class AssistantLike(Protocol):
    """What the app needs from ``sayso.agent``'s Assistant: turns as TurnEvent streams."""

    def text_turn(self, text: str) -> AsyncIterator[TurnEvent]: ...

    def voice_turn(self, utt: Utterance) -> AsyncIterator[TurnEvent]: ...

    def cancel(self) -> Any: ...

    async def close(self) -> None: ...


#: (settings, browser or None, sink) -> an assistant for one session
AssistantFactory = Callable[[Settings, Browser | None, EventSink], Awaitable[AssistantLike]]
#: settings -> a browser for one session (launched lazily by the browser stage)
BrowserFactory = Callable[[Settings], Browser]
#: (settings, sink, transcriber or None, is_complete or None) -> a segmenter
SegmenterFactory = Callable[..., PushSegmenter]

STAGE_LABELS = {
    "assistant": "assistant",
    "stt": "speech recognition",
    "tts": "spoken replies",
    "llm": "language model",
    "browser": "browser",
    "mic": "microphone listening",
}


def one_sentence(exc: BaseException) -> str:
    if isinstance(exc, SaysoError):
        return exc.one_line()
    return f"{type(exc).__name__} while starting it"


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class Stages:
    """App-wide builder of per-session parts; remembers which stages are unavailable."""

    def __init__(
        self,
        settings: Settings,
        *,
        assistant_factory: AssistantFactory | None = None,
        browser_factory: BrowserFactory | None = None,
        segmenter_factory: SegmenterFactory | None = None,
    ) -> None:
        self.settings = settings
        self.notes: dict[str, str] = {}
        self._assistant_factory = assistant_factory
        self._browser_factory = browser_factory
        self._segmenter_factory = segmenter_factory
        self._agent: Any = None  # the agent module's shared-model holder, once resolved
        self.stt: Any = None  # the shared STT (for speculative transcription), if any
        self.is_complete: Callable[[str], bool] | None = None
        self._ready: asyncio.Lock | None = None
        self._warmed = False

    # ------------------------------------------------------------- notes
    def note(self, stage: str, message: str) -> None:
        label = STAGE_LABELS.get(stage, stage)
        text = f"No {label}: {message}"
        if self.notes.get(stage) != text:
            log.warning("%s", text)
        self.notes[stage] = text

    def clear(self, stage: str) -> None:
        self.notes.pop(stage, None)

    # ------------------------------------------------------------- warmup
    async def ready(self) -> None:
        """Warm up once (the first session waits for the shared models to load)."""
        if self._warmed:
            return
        if self._ready is None:
            self._ready = asyncio.Lock()
        async with self._ready:
            if not self._warmed:
                await self.warmup()
                self._warmed = True

    async def warmup(self) -> None:
        """Load the shared models in the background so the first turn is not slow."""
        try:
            factory = self._resolve_agent()
        except SaysoError as exc:
            self.note("assistant", exc.one_line())
            return
        if factory is None:
            return
        warm = getattr(self._agent, "warmup", None)
        if warm is not None:
            try:
                await maybe_await(warm())
            except Exception as exc:  # a stage that fails to load is reported, not fatal
                log.warning("warmup failed: %s", one_sentence(exc))
        self._pick_up_notes()

    def _pick_up_notes(self) -> None:
        """Copy the agent's own stage notes (which model failed and why), when it has them."""
        notes = getattr(self._agent, "unavailable", None) or getattr(self._agent, "notes", None)
        if isinstance(notes, dict):
            for stage, msg in notes.items():
                self.note(str(stage), str(msg))
        self.stt = getattr(self._agent, "stt", None) or self.stt
        pred = getattr(self._agent, "is_complete", None)
        if callable(pred):
            self.is_complete = pred

    # ------------------------------------------------------------- assistant
    def _resolve_agent(self) -> AssistantFactory | None:
        if self._assistant_factory is not None:
            return self._assistant_factory
        try:
            module = importlib.import_module("sayso.agent.factory")
        except ModuleNotFoundError as exc:
            if (exc.name or "").startswith("sayso"):
                raise StageUnavailableError(
                    "the agent stage is not part of this version of sayso yet.") from exc
            raise StageUnavailableError(f"the package '{exc.name}' is missing.") from exc
        holder = module.shared(self.settings) if hasattr(module, "shared") else module
        self._agent = holder

        async def factory(settings: Settings, browser: Browser | None, sink: EventSink) -> Any:
            return await maybe_await(holder.assistant(settings=settings, browser=browser, sink=sink))

        self._assistant_factory = factory
        return factory

    async def new_assistant(self, settings: Settings, browser: Browser | None,
                            sink: EventSink) -> AssistantLike | None:
        try:
            factory = self._resolve_agent()
            if factory is None:
                return None
            assistant = await factory(settings, browser, sink)
        except Exception as exc:
            self.note("assistant", one_sentence(exc))
            return None
        self.clear("assistant")
        self._pick_up_notes()
        return assistant

    # ------------------------------------------------------------- browser
    def new_browser(self, settings: Settings) -> Browser | None:
        try:
            if self._browser_factory is None:
                self._browser_factory = _default_browser_factory()
            browser = self._browser_factory(settings)
        except Exception as exc:
            self.note("browser", one_sentence(exc))
            return None
        self.clear("browser")
        return browser

    # ------------------------------------------------------------- segmenter
    def new_segmenter(self, settings: Settings, sink: EventSink | None, *,
                      speculative: bool = True) -> PushSegmenter | None:
        transcriber = _transcriber(self.stt) if speculative else None
        try:
            if self._segmenter_factory is not None:
                return self._segmenter_factory(settings=settings, sink=sink,
                                               transcriber=transcriber,
                                               is_complete=self.is_complete if speculative else None)
            from sayso import registry

            return registry.build("vad", settings, name="silero", sink=sink,
                                  transcriber=transcriber,
                                  is_complete=self.is_complete if speculative else None)
        except Exception as exc:
            self.note("mic", one_sentence(exc))
            return None


def _transcriber(stt: Any) -> Callable[[Utterance], Awaitable[Transcript]] | None:
    fn = getattr(stt, "transcribe", None)
    return fn if callable(fn) and asyncio.iscoroutinefunction(fn) else None


def _default_browser_factory() -> BrowserFactory:
    for module_name in ("sayso.browser", "sayso.browser.driver", "sayso.browser.selenium"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        cls = getattr(module, "SeleniumBrowser", None)
        if cls is not None:
            return lambda settings: cls(settings=settings)
    raise StageUnavailableError("the browser stage is not part of this version of sayso yet.")
