"""Wyoming round trips against a real `sayso worker serve` process on 127.0.0.1.

The worker hosts the bundled Piper voice and Whisper tiny.en (faster-whisper) behind the real
Wyoming protocol; the clients are sayso's own and, once, the plain `wyoming` library client
(what Home Assistant speaks). Nothing here is faked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk as WyAudioChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.tts import Synthesize

from sayso.audio.convert import to_16k_mono
from sayso.config import load_settings
from sayso.errors import SttError
from sayso.stt.wyoming import WyomingStt
from sayso.tts.base import Tts
from sayso.tts.factory import build_tts
from sayso.tts.fallback import FallbackTts
from sayso.types import AudioChunk, Utterance

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("worker did not start listening")


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAYSO_")}
    env.update(OMP_WAIT_POLICY="PASSIVE", SAYSO_DATA_DIR=str(tmp_path_factory.mktemp("worker")))
    log_path = Path(env["SAYSO_DATA_DIR"]) / "worker.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sayso", "worker", "serve", "--tts", "piper",
             "--stt", "faster-whisper", "--port", str(port), "--preload"],
            env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, proc)
        yield f"wyoming://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(log_path.read_text(errors="replace")[-3000:])


def words(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalnum() or c.isspace()).split()


async def speak(tts: Tts, text: str) -> AudioChunk:
    chunks = [c async for c in tts.synthesize(text)]
    assert chunks, "no audio came back"
    rate = chunks[0].rate
    assert all(c.rate == rate and c.channels == 1 and c.samples.dtype == np.int16 for c in chunks)
    return AudioChunk(samples=np.concatenate([c.samples for c in chunks]), rate=rate)


async def test_speech_round_trip_through_the_worker(worker: str) -> None:
    """Text -> Wyoming TTS (Piper) -> Wyoming STT (Whisper) -> the same words."""
    settings = load_settings(tts=worker, stt=worker)
    tts, stt = build_tts(settings), WyomingStt(settings=settings)
    assert isinstance(tts, FallbackTts)
    await stt.warmup()
    assert stt.model == "tiny.en"  # the worker names its model
    text = "Scroll down to the next section, please."
    audio = await speak(tts, text)
    assert audio.rate == 22_050 and 1.0 < audio.duration_s < 6.0
    assert tts.notice == ""  # the worker spoke, not the fallback
    transcript = await stt.transcribe(Utterance(audio=to_16k_mono(audio)))
    assert words(transcript.text) == words(text)
    assert transcript.audio_s == pytest.approx(audio.duration_s, abs=0.05)
    assert 0.0 <= transcript.no_speech_prob < 0.5  # Whisper's own confidence made it across


async def test_plain_wyoming_client_gets_a_well_formed_stream(worker: str) -> None:
    """What Home Assistant would do: synthesize, then transcribe 48 kHz stereo audio."""
    host, port = worker.removeprefix("wyoming://").split(":")
    async with AsyncTcpClient(host, int(port), connect_timeout=5, read_timeout=60) as client:
        await client.write_event(Synthesize(text="Open the first link.").event())
        types, pcm, rate = [], b"", 0
        while True:
            event = await client.read_event()
            assert event is not None
            types.append(event.type)
            if AudioStart.is_type(event.type):
                rate = AudioStart.from_event(event).rate
            if WyAudioChunk.is_type(event.type):
                pcm += WyAudioChunk.from_event(event).audio
            if AudioStop.is_type(event.type):
                break
    assert types[0] == "audio-start" and types[-1] == "audio-stop" and "audio-chunk" in types
    mono = to_16k_mono(AudioChunk(samples=np.frombuffer(pcm, "<i2"), rate=rate)).samples
    import soxr

    stereo48 = soxr.resample(mono, 16_000, 48_000)
    stereo48 = (np.stack([stereo48, stereo48], axis=1) * 32767).astype("<i2")
    async with AsyncTcpClient(host, int(port), connect_timeout=5, read_timeout=60) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=48_000, width=2, channels=2).event())
        data = stereo48.tobytes()
        for i in range(0, len(data), 8192):
            await client.write_event(WyAudioChunk(rate=48_000, width=2, channels=2, audio=data[i:i + 8192]).event())
        await client.write_event(AudioStop().event())
        while True:
            event = await client.read_event()
            assert event is not None
            if Transcript.is_type(event.type):
                break
    assert words(Transcript.from_event(event).text) == ["open", "the", "first", "link"]


async def test_server_refusals_are_one_sentence(worker: str, caplog: pytest.LogCaptureFixture) -> None:
    """Too long a text: the worker refuses, and the client speaks it with local Piper instead."""
    settings = load_settings(tts=worker, stt=worker, wyoming_retry_s=0)
    tts = build_tts(settings)
    assert isinstance(tts, FallbackTts)
    with caplog.at_level(logging.WARNING, logger="sayso.tts.fallback"):
        audio = await speak(tts, "Hello there." + " " * 5000)  # over the worker's 5000 characters
    assert audio.duration_s > 0.3
    assert ("refused the request: The text is 5,012 characters long; this server speaks at most "
            "5,000 at once.") in tts.notice
    assert "bundled Piper voice is speaking instead" in caplog.text
    await tts.close()


async def test_worker_down_tts_falls_back_to_piper_and_stt_says_why(caplog: pytest.LogCaptureFixture) -> None:
    down = f"wyoming://127.0.0.1:{free_port()}"  # nothing listens there
    settings = load_settings(tts=down, stt=down)
    tts = build_tts(settings)
    assert isinstance(tts, FallbackTts)
    with caplog.at_level(logging.WARNING, logger="sayso.tts.fallback"):
        audio = await speak(tts, "Going back.")
        await speak(tts, "Done.")  # no second warning within the retry window
    assert audio.rate == 22_050 and audio.duration_s > 0.3
    assert tts.notice == (f"The Wyoming speech server at {down[10:]} is not running "
                          "(connection refused), so the bundled Piper voice is speaking instead.")
    assert caplog.text.count("is speaking instead") == 1
    await tts.close()

    stt = WyomingStt(settings=settings)
    silence = Utterance(audio=AudioChunk(samples=np.zeros(16_000, np.float32), rate=16_000))
    with pytest.raises(SttError) as err:
        await asyncio.wait_for(stt.transcribe(silence), timeout=10)
    assert err.value.code == "stt.remote"
    assert err.value.message == (f"The speech-to-text server at {down[10:]} is not running "
                                 "(connection refused).")
    assert "sayso worker serve --stt faster-whisper" in (err.value.hint or "")


def test_worker_ping_cli_lists_what_it_serves(worker: str) -> None:
    out = subprocess.run([sys.executable, "-m", "sayso", "worker", "ping", worker],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "speech-to-text: sayso-faster-whisper" in out.stdout
    assert "text-to-speech: sayso-piper" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "sayso", "worker", "ping", "http://x"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("error: The Wyoming server address 'http://x' must look "
                                  "like wyoming://HOST:PORT.")
