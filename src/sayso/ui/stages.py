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
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from sayso.browser.base import Browser
from sayso.config import Settings
from sayso.errors import SaysoError
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

    def speculate(self, transcript: Transcript | None) -> None:
        """The user fell silent after these words: start thinking (None: they went on)."""
        ...

    async def close(self) -> None: ...


#: (settings, browser or None, sink) -> an assistant for one session
AssistantFactory = Callable[[Settings, Browser | None, EventSink], Awaitable[AssistantLike]]
#: settings -> a browser for one session (launched lazily by the browser stage)
BrowserFactory = Callable[[Settings], Browser]
#: (settings, sink, transcriber or None, is_complete or None) -> a segmenter
SegmenterFactory = Callable[..., PushSegmenter]

LLM_LOADING = ("The language model is warming up: browser commands work now; questions are "
               "answered as soon as it is ready.")
RETRY_S = 60.0  # a stage that failed to load is tried again for sessions after this long

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
        self._loaded: dict[tuple[Any, ...], tuple[Any, str]] = {}  # stage key -> (obj, problem)
        self._loading: asyncio.Lock | None = None
        self._failed_at: dict[tuple[Any, ...], float] = {}
        self.stt: Any = None  # the shared STT (for speculative transcription), if any
        self.is_complete: Callable[[str], bool] | None = None
        self._ready: asyncio.Lock | None = None
        self._warmed = False
        self._quiet = asyncio.Event()  # set when no stage but the background LLM is loading
        self._quiet.set()
        self.llm_loading: Any = None  # the WarmingLlm of the app's settings, if any

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
        """Load the shared models for the app's own settings."""
        if self._assistant_factory is not None:
            return
        try:
            await self._components(self.settings)
        except SaysoError as exc:
            self.note("assistant", exc.one_line())
        from sayso.agent.fastpath import is_complete_command

        self.is_complete = is_complete_command

    # ------------------------------------------------------------- shared models
    async def _components(self, settings: Settings) -> Any:
        """The agent's Components for ``settings``, reusing every stage already loaded."""
        from sayso.agent import factory

        keys = {kind: _stage_key(kind, settings) for kind in ("stt", "llm", "tts")}
        if self._missing(keys):
            async with self._load_lock():
                missing = self._missing(keys)
                if "llm" in missing and settings.llm_background_load:
                    self._loaded[keys["llm"]] = (self._warming_llm(factory, settings, keys["llm"],
                                                                   quiet_first=bool(missing - {"llm"})), "")
                    missing.discard("llm")
                try:
                    if missing:
                        comp = await factory.build_components(
                            settings, stt="stt" in missing, llm="llm" in missing,
                            tts="tts" in missing)
                        for kind in missing:
                            obj = getattr(comp, kind)
                            self._loaded[keys[kind]] = (obj, comp.problems.get(kind, ""))
                            if obj is None:  # try again for a later session
                                self._failed_at[keys[kind]] = time.monotonic()
                finally:
                    self._quiet.set()  # the background LLM may take the CPU now
        parts = {kind: self._loaded[keys[kind]] for kind in keys}
        for kind, (obj, problem) in parts.items():
            if obj is None:
                self.note(kind, problem or "it could not be loaded.")
            elif not getattr(obj, "loading", False):
                self.clear(kind)
        if parts["stt"][0] is not None:
            self.stt = parts["stt"][0]
        return factory.Components(settings=settings, stt=parts["stt"][0], llm=parts["llm"][0],
                                  tts=parts["tts"][0],
                                  problems={k: v[1] for k, v in parts.items() if v[1]})

    def _warming_llm(self, factory: Any, settings: Settings, key: tuple[Any, ...], *,
                     quiet_first: bool) -> Any:
        """The LLM, loading and warming in the background (the page and the fast path work
        meanwhile; LLM turns wait for it). It starts once the STT and TTS have loaded."""
        from sayso.llm.warming import WarmingLlm

        if quiet_first:
            self._quiet.clear()

        async def load() -> Any:
            await self._quiet.wait()
            return await factory.build_llm(settings, warm=True)

        llm = WarmingLlm(load())
        self.notes["llm"] = LLM_LOADING
        self.llm_loading = llm

        def done(_task: Any) -> None:
            if llm.inner is not None:
                if self.notes.get("llm") == LLM_LOADING:
                    self.clear("llm")
            elif self._loaded.get(key, (None,))[0] is llm:  # failed: note it, retry later
                self._loaded[key] = (None, llm.problem)
                self._failed_at[key] = time.monotonic()
                self.note("llm", llm.problem or "it could not be loaded.")

        llm._task.add_done_callback(done)
        return llm

    @property
    def llm_warm(self) -> bool:
        """False while the LLM is still loading in the background."""
        return self.llm_loading is None or not self.llm_loading.loading

    def shared(self, kind: str, settings: Settings | None = None) -> Any:
        """The loaded shared stage of ``kind`` ("stt", "llm", "tts") for settings, or None."""
        entry = self._loaded.get(_stage_key(kind, settings or self.settings))
        return entry[0] if entry else None

    @property
    def warmed(self) -> bool:
        return self._warmed

    def _missing(self, keys: dict[str, tuple[Any, ...]]) -> set[str]:
        now = time.monotonic()
        return {kind for kind, key in keys.items()
                if key not in self._loaded
                or (self._loaded[key][0] is None and now - self._failed_at.get(key, now) > RETRY_S)}

    def _load_lock(self) -> asyncio.Lock:
        if self._loading is None:
            self._loading = asyncio.Lock()
        return self._loading

    async def close(self) -> None:
        """Close the shared models (when the app stops)."""
        for obj, _ in list(self._loaded.values()):
            if obj is not None:
                try:
                    await maybe_await(obj.close())
                except Exception as exc:
                    log.warning("closing a stage failed: %s", one_sentence(exc))
        self._loaded.clear()

    # ------------------------------------------------------------- assistant
    async def new_assistant(self, settings: Settings, browser: Browser | None,
                            sink: EventSink) -> AssistantLike | None:
        try:
            if self._assistant_factory is not None:
                assistant = await self._assistant_factory(settings, browser, sink)
            else:
                from sayso.agent.factory import create_assistant

                comp = await self._components(settings)
                assistant = create_assistant(comp, browser=browser, sink=sink)
        except Exception as exc:
            self.note("assistant", one_sentence(exc))
            return None
        self.clear("assistant")
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
                      speculative: bool = True,
                      on_final: Callable[[Transcript | None], None] | None = None
                      ) -> PushSegmenter | None:
        """A segmenter for one microphone stream; ``on_final`` hears the transcript of all
        the words as the user falls silent (e.g. ``Assistant.speculate``)."""
        transcriber = _transcriber(self.stt) if speculative else None
        hooks: dict[str, Any] = {"is_complete": self.is_complete if speculative else None}
        if speculative and on_final is not None:
            hooks["on_final"] = on_final
        try:
            if self._segmenter_factory is not None:
                return self._segmenter_factory(settings=settings, sink=sink,
                                               transcriber=transcriber, **hooks)
            from sayso import registry

            return registry.build("vad", settings, name="silero", sink=sink,
                                  transcriber=transcriber, **hooks)
        except Exception as exc:
            self.note("mic", one_sentence(exc))
            return None


def _transcriber(stt: Any) -> Callable[[Utterance], Awaitable[Transcript]] | None:
    fn = getattr(stt, "transcribe", None)
    return fn if callable(fn) and asyncio.iscoroutinefunction(fn) else None


def _default_browser_factory() -> BrowserFactory:
    from sayso.browser import SeleniumBrowser

    return lambda settings: SeleniumBrowser(settings=settings)  # launches on first use


#: the settings each shared stage depends on: a change loads another instance
_STAGE_FIELDS = {
    "stt": ("stt", "stt_model", "stt_device", "stt_threads", "stt_beam_size", "stt_compute_type",
            "stt_language"),
    "llm": ("llm", "llm_model", "llm_threads", "llm_context", "ollama_host", "ollama_model",
            "openai_base_url", "openai_model"),
    "tts": ("tts", "tts_voice", "tts_rate", "tts_threads"),
}


def _stage_key(kind: str, settings: Settings) -> tuple[Any, ...]:
    return (kind, *(getattr(settings, name) for name in _STAGE_FIELDS[kind]))
