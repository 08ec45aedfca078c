"""The real parts the benchmark drives, built the way the app builds them, with load times.

The assistant comes from the agent's factory (``sayso.agent.factory``); the browser is the real
Selenium one (it starts on its first command, which is timed as its load); the segmenter is the
streaming one, with speculative STT and the fast path's early end of turn, as in the web app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sayso.config import Settings
from sayso.errors import SaysoError
from sayso.events import EventSink, now_ms
from sayso.types import ToolCall

log = logging.getLogger(__name__)


@dataclass
class Parts:
    settings: Settings
    components: Any  # sayso.agent.factory.Components
    assistant: Any
    browser: Any
    load_ms: dict[str, float | None] = field(default_factory=dict)

    @property
    def stt(self) -> Any:
        return self.components.stt

    @property
    def llm(self) -> Any:
        return self.components.llm

    @property
    def tts(self) -> Any:
        return self.components.tts

    def segmenter(self, sink: EventSink | None, *, speculative: bool = True) -> Any:
        """A fresh streaming segmenter (one per replayed clip, as one per microphone stream)."""
        from sayso.audio.segmenter import Segmenter

        if not speculative:
            return Segmenter(settings=self.settings, sink=sink)
        from sayso.agent.fastpath import is_complete_command

        # the assistant thinks early on the words heard as the user falls silent (agent/early.py)
        on_final = self.assistant.speculate if self.assistant is not None else None
        return Segmenter(settings=self.settings, sink=sink, transcriber=self.stt.transcribe,
                         is_complete=is_complete_command, on_final=on_final)

    async def close(self) -> None:
        for what, closer in (("assistant", self.assistant), ("components", self.components)):
            try:
                await closer.close()
            except Exception as exc:  # closing is best effort
                log.warning("closing the %s failed: %s", what, exc)


def _browser(settings: Settings) -> Any:
    from sayso.browser import SeleniumBrowser

    return SeleniumBrowser(settings=settings)


async def load_parts(settings: Settings, sink: EventSink, start_url: str) -> Parts:
    """Load and warm every stage; a stage that cannot load stops the benchmark with one sentence."""
    from sayso.agent.factory import build_components, create_assistant

    comp = await build_components(settings, warm=True)
    missing = {k: v for k, v in comp.problems.items()}
    for stage in ("stt", "llm", "tts"):
        if getattr(comp, stage) is None and stage not in missing:
            missing[stage] = "not built"
    if missing:
        await comp.close()
        stage, why = next(iter(missing.items()))
        raise SaysoError(f"The benchmark needs every stage, but the {stage} could not load: {why}",
                         code="bench.stage_missing", hint="Run 'sayso doctor' to see what is missing.")
    load_ms: dict[str, float | None] = {k: float(v) for k, v in comp.load_ms.items()}
    t0 = now_ms()
    browser = _browser(settings)
    result = await browser.execute(ToolCall("navigate", {"url": start_url}))
    load_ms["browser"] = round(now_ms() - t0, 1)
    if not result.ok:
        await browser.close()
        await comp.close()
        raise SaysoError(f"The benchmark's browser could not open its test site: {result.message}",
                         code="bench.browser", hint="Run 'sayso doctor' to check Chromium.")
    parts = Parts(settings=settings, components=comp, assistant=None, browser=browser, load_ms=load_ms)
    t0 = now_ms()
    parts.segmenter(None, speculative=False)  # the VAD model loads here (no assistant yet)
    load_ms["vad"] = round(now_ms() - t0, 1)
    parts.assistant = create_assistant(comp, browser=browser, sink=sink)
    return parts
