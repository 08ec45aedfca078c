"""Building the assistant's parts: shared models once, a browser per session.

``build_components(settings)`` constructs (and warms) STT, LLM and TTS through the registry;
the web app shares one ``Components`` across its sessions. A stage that cannot be built is
``None`` with one sentence in ``problems``, and the assistant works without it. ``build_browser``
starts one browser for one session. ``create_assistant`` ties them together.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from sayso import registry
from sayso.agent import prompts
from sayso.agent.session import Assistant
from sayso.browser.base import Browser
from sayso.config import Settings
from sayso.errors import SaysoError
from sayso.events import EventSink
from sayso.llm.base import Llm
from sayso.stt.base import Stt
from sayso.tools import decision_format
from sayso.tts.base import Tts
from sayso.types import ChatMessage

log = logging.getLogger(__name__)


@dataclass
class Components:
    """The shared, loaded stages (any may be None) and why a missing one is missing."""

    settings: Settings
    stt: Stt | None = None
    llm: Llm | None = None
    tts: Tts | None = None
    problems: dict[str, str] = field(default_factory=dict)
    load_ms: dict[str, float] = field(default_factory=dict)

    async def close(self) -> None:
        for stage in (self.stt, self.llm, self.tts):
            if stage is not None:
                try:
                    await stage.close()
                except Exception:
                    log.warning("closing %s failed", getattr(stage, "name", stage), exc_info=True)


async def warm_decision_prefix(llm: Llm) -> None:
    """Run the fixed decision prompt once so llama.cpp caches it (the first turn is then fast)."""
    msgs = [*prompts.decision_prefix(), ChatMessage(role="user", content="hello")]
    async for _ in llm.chat(msgs, response_format=decision_format(), max_tokens=1):
        pass


async def build_llm(settings: Settings, *, warm: bool = True) -> Llm:
    from sayso.llm.select import build_llm as choose

    llm = await choose(settings)
    if warm:
        await llm.warmup()
        await warm_decision_prefix(llm)
    return llm


async def build_components(
    settings: Settings, *, stt: bool = True, llm: bool = True, tts: bool = True, warm: bool = True
) -> Components:
    """Build the shared stages that are asked for; failures become ``problems``, not exceptions."""
    comp = Components(settings=settings)

    async def stage(kind: str, make) -> object | None:  # type: ignore[no-untyped-def]
        t0 = time.monotonic()
        try:
            obj = await make()
        except SaysoError as exc:
            comp.problems[kind] = exc.one_line()
            log.warning("%s unavailable: %s", kind, exc.one_line())
            return None
        except Exception as exc:  # a stage boundary: report, keep the others
            comp.problems[kind] = f"{type(exc).__name__}: {exc}"
            log.exception("%s failed to load", kind)
            return None
        comp.load_ms[kind] = round((time.monotonic() - t0) * 1000, 1)
        return obj

    async def make_registry(kind: str):  # type: ignore[no-untyped-def]
        obj = registry.build(kind, settings)
        if warm:
            await obj.warmup()
        return obj

    async def make_tts():  # type: ignore[no-untyped-def]
        from sayso.tts.factory import build_tts  # Piper, or espeak-ng when Piper cannot load

        obj = await asyncio.to_thread(build_tts, settings)
        if warm:
            await obj.warmup()
        return obj

    if llm:
        comp.llm = await stage("llm", lambda: build_llm(settings, warm=warm))  # type: ignore[assignment]
    if stt:
        comp.stt = await stage("stt", lambda: make_registry("stt"))  # type: ignore[assignment]
    if tts:
        comp.tts = await stage("tts", lambda: make_tts())  # type: ignore[assignment]
    if warm and stt:  # the fixed names (commands, sites) sounded out once, not on the first utterance
        from sayso.agent.phonetic import prepare
        from sayso.agent.vocabulary import Vocabulary

        await asyncio.to_thread(prepare, Vocabulary())
    return comp


async def build_browser(settings: Settings) -> Browser:
    """Start one browser for one session (raises a SaysoError with one sentence if it cannot)."""
    browser = registry.build("browser", settings)
    start = getattr(browser, "start", None)
    if start is not None:
        await start()
    return browser


def create_assistant(
    comp: Components, *, browser: Browser | None, sink: EventSink | None = None, dry_run: bool = False
) -> Assistant:
    return Assistant(settings=comp.settings, llm=comp.llm, stt=comp.stt, tts=comp.tts, browser=browser,
                     sink=sink, dry_run=dry_run)
