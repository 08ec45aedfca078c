"""The worker's model handling, with the server run in-process on 127.0.0.1.

Real: the Wyoming server, the clients, Piper and Whisper tiny.en, the memory budget and idle
unload. One test uses a FAKE Chatterbox model (labelled below): the real one needs a GPU and
chatterbox-tts' own environment, which this machine does not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import numpy as np
import pytest

from sayso.audio.convert import to_16k_mono
from sayso.config import Settings, load_settings
from sayso.stt.wyoming import WyomingStt
from sayso.tts.chatterbox import ChatterboxTts
from sayso.tts.factory import build_tts
from sayso.tts.fallback import FallbackTts
from sayso.types import AudioChunk, Utterance
from sayso.worker.chatterbox import ChatterboxVoice
from sayso.worker.server import registry_factory, serve
from tests.unit.test_chatterbox_adapter import FakeChatterbox

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def running(settings: Settings, **kwargs) -> AsyncIterator[str]:
    port = free_port()
    task = asyncio.create_task(serve(settings, host="127.0.0.1", port=port, **kwargs))
    for _ in range(200):
        if task.done():
            task.result()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    try:
        yield f"wyoming://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def speak(tts, text: str) -> list[AudioChunk]:
    return [c async for c in tts.synthesize(text)]


async def test_chatterbox_without_a_gpu_speaks_with_piper_and_says_so(caplog) -> None:
    """This machine has no GPU: the Chatterbox worker cannot place its model (found while it
    preloads) and uses Piper."""
    caplog.set_level(logging.INFO)
    async with running(load_settings(), tts="chatterbox", stt=None, preload=True) as url:
        tts = ChatterboxTts(settings=load_settings(chatterbox_url=url))
        chunks = await speak(tts, "Here is the weather.")
    assert chunks and chunks[0].rate == 22_050  # Piper's rate, not Chatterbox's 24 kHz
    assert ("Chatterbox cannot be loaded (there is not enough memory to load tts:chatterbox: "
            "there is no cuda device), so Piper on the CPU is speaking instead.") in caplog.text


async def test_fake_chatterbox_through_the_real_protocol() -> None:
    """FAKE model (FakeChatterbox), real adapter + server + client: 24 kHz, one chunk per sentence."""
    model = FakeChatterbox()

    async def factory(kind: str, name: str, device: str):
        if name == "chatterbox":
            return ChatterboxVoice(model)
        return await registry_factory(settings, kind, name, device)

    settings = load_settings(chatterbox_device="cpu")
    async with running(settings, tts="chatterbox", stt=None, factory=factory) as url:
        tts = ChatterboxTts(settings=load_settings(chatterbox_url=url))
        chunks = await speak(tts, "Opening the page. Reading the first heading.")
    assert {c.rate for c in chunks} == {24_000}
    assert all(c.frames <= 1_024 for c in chunks)  # sent in 1,024-sample chunks, as wyoming-piper
    assert [c[0] for c in model.calls] == ["Opening the page.", "Reading the first heading."]


async def test_one_budget_across_stt_and_tts_and_idle_unload(caplog) -> None:
    """Real Piper + Whisper under a 400 MB budget (they need 500 together): each request evicts
    the other model, nothing fails, and both unload after 1 s idle."""
    caplog.set_level(logging.INFO, logger="sayso.worker.memory")
    settings = load_settings(cpu_memory_budget_mb=400, model_idle_unload_s=1)
    async with running(settings, tts="piper", stt="faster-whisper") as url:
        client_settings = load_settings(tts=url, stt=url)
        tts, stt = build_tts(client_settings), WyomingStt(settings=client_settings)
        assert isinstance(tts, FallbackTts)
        chunks = await speak(tts, "Scroll down to the next section.")  # loads Piper
        audio = AudioChunk(samples=np.concatenate([c.samples for c in chunks]), rate=chunks[0].rate)
        heard = await stt.transcribe(Utterance(audio=to_16k_mono(audio)))  # Whisper evicts Piper
        assert heard.text.lower().rstrip(".") == "scroll down to the next section"
        assert await speak(tts, "Done.")  # Piper evicts Whisper
        assert tts.notice == ""  # the worker answered every time: no fallback was needed
        await asyncio.sleep(2.5)
    log = caplog.text
    assert log.count("Loaded tts:piper on cpu") == 2 and log.count("Loaded stt:faster-whisper on cpu") == 1
    assert "Unloaded tts:piper from cpu (least recently used, to make room)" in log
    assert "Unloaded stt:faster-whisper from cpu (least recently used, to make room)" in log
    assert "Unloaded tts:piper from cpu (idle for" in log


async def test_worker_stopping_mid_reply_is_one_sentence_then_piper_takes_over() -> None:
    from sayso.errors import TtsError

    settings = load_settings()
    port = free_port()
    task = asyncio.create_task(serve(settings, tts="piper", stt=None, host="127.0.0.1", port=port))
    await asyncio.sleep(0)
    tts = build_tts(load_settings(tts=f"wyoming://127.0.0.1:{port}"))
    assert isinstance(tts, FallbackTts)
    for _ in range(200):  # until it listens
        try:
            await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.05)
    stream = tts.synthesize("First sentence. " + "And then a lot more to say. " * 20)
    first = await anext(stream)
    assert first.rate == 22_050
    task.cancel()  # the worker goes away in the middle of the reply
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with pytest.raises(TtsError) as err:
        async for _ in stream:
            pass
    assert err.value.message == (f"The Wyoming speech server at 127.0.0.1:{port} stopped in the "
                                 "middle of a sentence.")
    chunks = await speak(tts, "Still here.")  # the next sentence: local Piper, and it says so
    assert chunks and "bundled Piper voice is speaking instead" in tts.notice
    await tts.close()
