"""Speech-to-text through any Wyoming server (``SAYSO_STT=wyoming://host:port``).

The server may be sayso's own worker (``sayso worker serve --stt faster-whisper``) or a user's
wyoming-faster-whisper on a GPU box. Audio goes as 16 kHz 16-bit mono. A server that cannot be
reached, times out or refuses the audio raises ``SttError`` with one sentence.
"""

from __future__ import annotations

import logging
import time

from wyoming.asr import Transcribe
from wyoming.asr import Transcript as WyTranscript
from wyoming.audio import AudioChunk as WyAudioChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.info import Describe, Info

from sayso.audio.convert import to_16k_mono
from sayso.config import Settings
from sayso.errors import SttError
from sayso.types import SAMPLE_RATE, Transcript, Utterance, Word
from sayso.worker import protocol

log = logging.getLogger(__name__)


class WyomingStt:
    """Stt over the Wyoming protocol."""

    name = "wyoming"

    def __init__(self, *, settings: Settings, url: str | None = None, language: str = "en") -> None:
        self.settings = settings
        self.address = protocol.parse_url(url or settings.stt, what="speech-to-text server")
        self.language = language

    def _client(self) -> AsyncTcpClient:
        return AsyncTcpClient(self.address.host, self.address.port,
                              connect_timeout=self.settings.wyoming_connect_timeout_s,
                              read_timeout=self.settings.wyoming_timeout_s)

    def _error(self, why: str) -> SttError:
        return SttError(
            f"The speech-to-text server at {self.address} {why}.",
            code="stt.remote",
            hint=f"Start it (sayso worker serve --stt faster-whisper --port {self.address.port}) "
                 "or set SAYSO_STT=faster-whisper to transcribe on this machine.",
        )

    async def transcribe(self, utt: Utterance) -> Transcript:
        audio = utt.audio
        if audio.rate != SAMPLE_RATE or audio.channels != 1:
            audio = to_16k_mono(audio)
        if audio.duration_s > self.settings.stt_max_audio_s:
            raise SttError(f"The audio is {audio.duration_s:.0f} s long; at most "
                           f"{self.settings.stt_max_audio_s:.0f} s can be transcribed.",
                           code="audio.too_long")
        pcm, _ = protocol.pcm_from_chunk(audio)
        t0 = time.monotonic()
        step = protocol.STT_CHUNK_FRAMES * protocol.WIDTH
        fmt = {"rate": SAMPLE_RATE, "width": protocol.WIDTH, "channels": 1}
        try:
            async with self._client() as client:
                await client.write_event(Transcribe(language=self.language).event())
                await client.write_event(AudioStart(**fmt).event())
                for i in range(0, len(pcm), step):
                    await client.write_event(WyAudioChunk(audio=pcm[i:i + step], **fmt).event())
                await client.write_event(AudioStop().event())
                while True:
                    event = await client.read_event()
                    if event is None:
                        raise self._error("closed the connection before answering")
                    if WyTranscript.is_type(event.type):
                        break
                    if Error.is_type(event.type):
                        raise self._error(f"refused the audio: {Error.from_event(event).text}")
        except TimeoutError as exc:
            raise self._error(f"did not answer within {self.settings.wyoming_timeout_s:.0f} s") from exc
        except ConnectionRefusedError as exc:
            raise self._error("is not running (connection refused)") from exc
        except OSError as exc:
            raise self._error(f"is not reachable ({exc.strerror or type(exc).__name__})") from exc
        text = WyTranscript.from_event(event).text or ""
        extra = event.data.get(protocol.SAYSO_KEY) or {}
        words = tuple(Word(str(w[0]), float(w[1]), float(w[2]), float(w[3]))
                      for w in extra.get("words", ()) if isinstance(w, list | tuple) and len(w) == 4)
        return Transcript(
            text=text.strip(),
            words=words,
            language=event.data.get("language") or self.language,
            no_speech_prob=float(extra.get("no_speech_prob", 0.0)),
            avg_logprob=float(extra.get("avg_logprob", 0.0)),
            audio_s=audio.duration_s,
            elapsed_ms=(time.monotonic() - t0) * 1000,
        )

    async def describe(self) -> Info:
        try:
            async with self._client() as client:
                await client.write_event(Describe().event())
                while True:
                    event = await client.read_event()
                    if event is None:
                        raise self._error("closed the connection before answering")
                    if Info.is_type(event.type):
                        return Info.from_event(event)
        except TimeoutError as exc:
            raise self._error("did not answer in time") from exc
        except ConnectionRefusedError as exc:
            raise self._error("is not running (connection refused)") from exc
        except OSError as exc:
            raise self._error(f"is not reachable ({exc.strerror or type(exc).__name__})") from exc

    async def warmup(self) -> None:
        info = await self.describe()
        if not info.asr:
            raise self._error("offers no speech-to-text model")
        log.info("speech-to-text: %s at %s", info.asr[0].name, self.address)

    async def close(self) -> None:
        return None
