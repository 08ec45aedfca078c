"""Per-session state of the web app: isolation, cap, idle release, barge-in, settings."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
import soundfile as sf

from sayso.config import load_settings
from sayso.events import TurnEvent
from sayso.types import SAMPLE_RATE, AudioChunk, Utterance
from sayso.ui.sessions import SessionLimitError, SessionManager
from sayso.ui.stages import Stages
from tests.fakes import FakeBrowser
from tests.unit.ui_fakes import FakeAssistant


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Made(list[FakeAssistant]):
    """The assistants the manager made; ``first`` is set when there is one."""

    def __init__(self) -> None:
        super().__init__()
        self.first = asyncio.Event()


async def speaking(made: Made) -> None:
    """Until the session's (slow) assistant is in the middle of its reply: no clock involved."""

    async def wait() -> None:
        await made.first.wait()
        await made[0].speaking.wait()

    await asyncio.wait_for(wait(), timeout=10)


def make_manager(*, slow: bool = False, clock: Clock | None = None, **overrides: object):
    settings = load_settings(max_sessions=2, session_idle_timeout_s=60, **overrides)
    made = Made()

    async def assistant_factory(s, browser, sink):
        a = FakeAssistant(browser, slow=slow)
        made.append(a)
        made.first.set()
        return a

    stages = Stages(settings, assistant_factory=assistant_factory,
                    browser_factory=lambda s: FakeBrowser(url="about:blank"),
                    segmenter_factory=lambda **kw: None)
    counts: list[int] = []
    manager = SessionManager(settings, stages, on_count=counts.append, clock=clock or Clock())
    return manager, made, counts


async def run(session, kind, payload):
    return [f async for f in session.turn(kind, payload)]


async def test_two_sessions_keep_their_own_history_and_browser() -> None:
    manager, made, _ = make_manager()
    a, b = await manager.get("tab-a"), await manager.get("tab-b")
    await run(a, "text", "open the news")
    await run(b, "text", "scroll down")
    assert a.browser is not b.browser
    assert made[0].history == ["open the news"] and made[1].history == ["scroll down"]
    assert "open the news" in str(a.view.messages()) and "open the news" not in str(b.view.messages())
    assert a.last.reply == "You said open the news." and a.last.actions[0]["tool"] == "navigate"
    await manager.close_all()


async def test_cap_refuses_politely_and_release_frees_the_browser() -> None:
    manager, _, counts = make_manager()
    a = await manager.get("1")
    await manager.get("2")
    with pytest.raises(SessionLimitError) as err:
        await manager.get("3")
    assert "busy" in err.value.one_line() and "try again" in err.value.one_line()
    browser = a.browser
    assert await manager.release("1")
    assert browser.closed and a.assistant is None
    await manager.get("3")  # a freed place is taken
    assert counts[-1] == 2
    await manager.close_all()


async def test_idle_sessions_are_reaped_but_not_during_a_turn() -> None:
    clock = Clock()
    manager, _, _ = make_manager(clock=clock)
    a = await manager.get("a")
    clock.now = 30.0
    b = await manager.get("b")
    b.turn_active = True
    clock.now = 100.0
    assert await manager.reap_idle() == ["a"]
    assert a.browser is None and manager.peek("b") is b
    await manager.close_all()


async def test_turn_streams_wav_chunks_at_one_rate_and_a_screenshot() -> None:
    manager, _, _ = make_manager()
    s = await manager.get("a")
    frames = await run(s, "text", "hello")
    wavs = [f.audio for f in frames if f.audio]
    rates = {sf.info(io.BytesIO(w)).samplerate for w in wavs}
    assert len(wavs) == 2 and rates == {22050}  # the 16 kHz chunk was resampled
    assert all(sf.info(io.BytesIO(w)).subtype == "PCM_16" for w in wavs)
    assert s.view.browser.screenshot == b"\xff\xd8fake-jpeg"
    assert s.last.audio is not None and s.last.audio[0] == 22050
    assert s.view.status == "idle" and not s.turn_active
    await manager.close_all()


async def test_barge_in_cancels_the_running_turn() -> None:
    manager, made, _ = make_manager(slow=True)
    s = await manager.get("a")
    utt = Utterance(audio=AudioChunk(samples=np.zeros(SAMPLE_RATE, np.float32), rate=SAMPLE_RATE),
                    turn_id="u1")
    task = asyncio.create_task(run(s, "voice", utt))
    await speaking(made)
    assert s.turn_active
    s._on_vad(TurnEvent(type="vad-start", turn_id="u2"))  # the user starts speaking
    await asyncio.wait_for(task, timeout=3)
    assert made[0].cancelled == 1 and s.barge_count == 1 and s.last.cancelled
    assert "(interrupted)" in s.view.messages()[-1]["content"]
    await manager.close_all()


async def test_a_new_typed_command_preempts_the_running_turn() -> None:
    manager, made, _ = make_manager(slow=True)
    s = await manager.get("a")
    first = asyncio.create_task(run(s, "text", "read the page"))
    await speaking(made)
    await asyncio.wait_for(run(s, "text", "stop that"), timeout=5)
    await first
    assert made[0].history == ["read the page", "stop that"] and made[0].cancelled >= 1


async def test_settings_apply_per_session_and_bad_values_are_one_sentence() -> None:
    manager, made, _ = make_manager()
    a, b = await manager.get("a"), await manager.get("b")
    msg = await a.apply_settings({"tts_rate": 1.3, "hands_free": False})
    assert "tts_rate" in msg and a.settings.tts_rate == 1.3 and b.settings.tts_rate == 1.0
    assert a.assistant is made[-1] and a.assistant is not made[0]  # rebuilt with the new rate
    assert not a.browser.closed  # the session keeps its browser
    from sayso.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        await a.apply_settings({"search_engine": "ftp://nope"})
    assert "search_engine" in err.value.one_line()
    assert a.settings.search_engine.startswith("https://")
    await manager.close_all()


async def test_missing_assistant_is_said_in_the_chat() -> None:
    settings = load_settings()

    async def broken(s, browser, sink):
        from sayso.errors import StageUnavailableError

        raise StageUnavailableError("the language model failed to load.")

    manager = SessionManager(settings, Stages(settings, assistant_factory=broken,
                                              browser_factory=lambda s: FakeBrowser(url="about:blank"),
                                              segmenter_factory=lambda **kw: None))
    s = await manager.get("a")
    await run(s, "text", "hello")
    assert "failed to load" in s.view.messages()[-1]["content"]
    assert "assistant" in manager.stages.notes
    await manager.close_all()


async def test_the_microphone_tells_the_current_assistant_to_think_early() -> None:
    from sayso.types import Transcript

    hooks: list = []
    settings = load_settings(max_sessions=2)
    made: list[FakeAssistant] = []

    async def assistant_factory(s, browser, sink):
        made.append(FakeAssistant(browser))
        return made[-1]

    def segmenter_factory(**kw):
        hooks.append(kw["on_final"])
        return None

    stages = Stages(settings, assistant_factory=assistant_factory,
                    browser_factory=lambda s: FakeBrowser(), segmenter_factory=segmenter_factory)
    manager = SessionManager(settings, stages)
    session = await manager.get("tab-a")
    hooks[-1](Transcript(text="who painted the mona lisa"))
    hooks[-1](None)
    assert made[0].early == ["who painted the mona lisa", None]
    await session.apply_settings({"tts_rate": 1.3})  # a new assistant, the same microphone
    hooks[-1](Transcript(text="and the night watch"))
    assert len(made) == 2 and made[-1].early == ["and the night watch"]
    await manager.close_all()
