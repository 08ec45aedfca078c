"""Streaming endpointing: audio chunks (any rate) in, one :class:`Utterance` per spoken turn out.

Silero VAD scores each 32 ms frame. A turn starts when speech has lasted ``vad_min_speech_ms``
(the ``vad-start`` event), keeps ``vad_preroll_ms`` of audio from before the onset, and ends
after ``vad_silence_ms`` of silence (``vad-end``) or at ``vad_max_utterance_s``.

Hiding STT latency: when the silence after speech reaches ``vad_speculative_ms`` the segmenter
starts transcribing the audio so far (the ``transcriber`` hook, e.g. ``stt.transcribe``). If
speech resumes the speculative result is discarded; otherwise the finished utterance carries it
in ``Utterance.transcript`` and the caller need not transcribe again. The utterance audio is
always cut at the last speech frame plus ``vad_speculative_ms``, so the speculative audio and
the final audio are identical. When the speculative text satisfies the ``is_complete`` hook
(e.g. the agent's fast path recognises "scroll down"), the turn ends at once instead of
waiting for the full silence.

Two ways to drive it:

* ``async for utt in seg.segment(chunks)``: the :class:`~sayso.audio.base.Vad` protocol.
* push style for callbacks (Gradio): ``await seg.feed_async(chunk)`` /
  ``await seg.flush_async()`` (with speculation), or the plain ``seg.feed(chunk)`` /
  ``seg.flush()`` (no speculation, no awaiting). Each returns the utterances completed.

One segmenter follows one audio stream (it carries VAD state); it is cheap to create.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import soxr

from sayso.audio.convert import check_rate, to_float32, to_mono
from sayso.audio.vad import FRAME, FRAME_MS, SileroVad
from sayso.events import EventSink, TurnEvent, new_turn_id
from sayso.types import SAMPLE_RATE, AudioChunk, Transcript, Utterance

log = logging.getLogger(__name__)

Transcriber = Callable[[Utterance], Awaitable[Transcript]]
CompletePredicate = Callable[[str], bool]

# a frame this far below the threshold counts as silence once speech has started (hysteresis)
NEG_OFFSET = 0.15


@dataclass(frozen=True, slots=True)
class SegmenterConfig:
    threshold: float = 0.5
    min_speech_ms: int = 200
    silence_ms: int = 500
    preroll_ms: int = 300
    max_utterance_s: float = 30.0
    speculative_ms: int = 150

    @classmethod
    def from_settings(cls, settings: Any) -> SegmenterConfig:
        return cls(
            threshold=settings.vad_threshold,
            min_speech_ms=settings.vad_min_speech_ms,
            silence_ms=settings.vad_silence_ms,
            preroll_ms=settings.vad_preroll_ms,
            max_utterance_s=settings.vad_max_utterance_s,
            speculative_ms=min(getattr(settings, "vad_speculative_ms", 150), settings.vad_silence_ms),
        )


def _frames(ms: float) -> int:
    return max(1, round(ms / FRAME_MS))


@dataclass(slots=True)
class _Mark:
    """What the frame loop reports: a pause (speculate on ``utt``), a resume, or an end."""

    kind: str  # "pause" | "resume" | "end"
    utt: Utterance | None = None


class Segmenter:
    """Silero-based streaming segmenter; implements the ``Vad`` protocol."""

    def __init__(
        self,
        *,
        settings: Any = None,
        config: SegmenterConfig | None = None,
        sink: EventSink | None = None,
        transcriber: Transcriber | None = None,
        is_complete: CompletePredicate | None = None,
        turn_id_factory: Callable[[], str] = new_turn_id,
    ) -> None:
        if config is None:
            config = SegmenterConfig.from_settings(settings) if settings is not None else SegmenterConfig()
        self.config = config
        self.sink = sink
        self.transcriber = transcriber
        self.is_complete = is_complete
        self._new_turn_id = turn_id_factory
        self._vad = SileroVad()
        self._preroll_n = round(config.preroll_ms / FRAME_MS)
        self._silence_n = _frames(config.silence_ms)
        self._spec_n = min(_frames(config.speculative_ms), self._silence_n)
        self._min_speech_n = _frames(config.min_speech_ms) if config.min_speech_ms > 0 else 1
        self._max_n = _frames(config.max_utterance_s * 1000.0)
        self._resampler: soxr.ResampleStream | None = None
        self._resampler_rate = 0
        self._spec_task: asyncio.Task[Transcript] | None = None
        self._spec_stale: asyncio.Task[Transcript] | None = None
        self._spec_checked: asyncio.Task[Transcript] | None = None
        self.reset()

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget the stream: VAD state, buffered audio, any utterance in progress."""
        self._vad.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pos = 0  # frames seen in the stream
        self._preroll: deque[np.ndarray] = deque(maxlen=max(self._preroll_n, 1))
        self._state = "idle"  # idle | maybe | speaking
        self._utt: list[np.ndarray] = []
        self._utt_start = 0  # stream frame index of self._utt[0]
        self._speech_n = 0
        self._silence_run = 0
        self._last_speech = -1  # index in self._utt
        self._paused = False
        self._turn_id = ""
        self._drop_spec()

    @property
    def in_speech(self) -> bool:
        """True while an utterance is in progress (after vad-start, before vad-end)."""
        return self._state == "speaking"

    @property
    def position_ms(self) -> float:
        """Stream time of the audio consumed so far."""
        return self._pos * FRAME_MS

    # ----------------------------------------------------------- conversion
    def _to_16k(self, chunk: AudioChunk) -> np.ndarray:
        check_rate(chunk.rate)
        mono = to_mono(to_float32(chunk.samples), chunk.channels)
        if mono.ndim != 1:
            mono = mono.reshape(-1)
        rate = int(chunk.rate)
        if rate == SAMPLE_RATE:
            return mono.astype(np.float32, copy=False)
        if self._resampler is None or self._resampler_rate != rate:
            # a stream resampler keeps its filter state between chunks: no clicks at 20 ms edges
            self._resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
            self._resampler_rate = rate
        out = self._resampler.resample_chunk(mono.astype(np.float32, copy=False))
        return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)

    # ------------------------------------------------------------ frame loop
    def _emit(self, type_: str, **data: Any) -> None:
        if self.sink is None:
            return
        try:
            self.sink(TurnEvent(type=type_, turn_id=self._turn_id, data=data))  # type: ignore[arg-type]
        except Exception:  # an observer must not break endpointing
            log.exception("event sink failed on %s", type_)

    def _frame(self, frame: np.ndarray) -> list[_Mark]:
        p = self._vad.prob(frame)
        self._pos += 1
        cfg = self.config
        marks: list[_Mark] = []
        if self._state == "idle":
            if p >= cfg.threshold:
                self._state = "maybe"
                self._utt = [*self._preroll, frame]
                self._utt_start = self._pos - len(self._utt)
                self._speech_n, self._silence_run = 1, 0
                self._last_speech = len(self._utt) - 1
                self._paused = False
                self._maybe_start()
            else:
                self._preroll.append(frame)
            return marks

        self._utt.append(frame)
        if p >= cfg.threshold - NEG_OFFSET:
            if p >= cfg.threshold:
                self._speech_n += 1
            self._silence_run = 0
            self._last_speech = len(self._utt) - 1
            if self._paused:
                self._paused = False
                marks.append(_Mark("resume"))
        else:
            self._silence_run += 1

        if self._state == "maybe":
            self._maybe_start()
            if self._state == "maybe" and self._silence_run >= self._silence_n:
                self._drop_candidate()
            return marks

        if self._silence_run >= self._silence_n:
            marks.append(_Mark("end", self._finish("silence")))
        elif len(self._utt) >= self._max_n:
            speaking = self._silence_run == 0
            marks.append(_Mark("resume"))  # the cut differs from any speculative audio
            marks.append(_Mark("end", self._finish("max_length", cut_all=True)))
            if speaking:  # still talking: the next utterance starts right here
                self._state = "speaking"
                self._turn_id = self._new_turn_id()
                self._utt, self._utt_start = [], self._pos
                self._speech_n, self._last_speech = 0, -1
                self._emit("vad-start", stream_ms=self._pos * FRAME_MS, continued=True)
        elif self._silence_run == self._spec_n and not self._paused:
            self._paused = True
            marks.append(_Mark("pause", self._utterance()))
        return marks

    def _maybe_start(self) -> None:
        if self._speech_n >= self._min_speech_n:
            self._state = "speaking"
            self._turn_id = self._new_turn_id()
            onset = self._utt_start + min(len(self._preroll), len(self._utt) - 1)
            self._emit("vad-start", stream_ms=self._pos * FRAME_MS, onset_ms=onset * FRAME_MS)

    def _drop_candidate(self) -> None:
        """A blip shorter than vad_min_speech_ms: forget it, keep its tail as pre-roll."""
        tail = self._utt[-self._preroll_n:] if self._preroll_n else []
        self._preroll.clear()
        self._preroll.extend(tail)
        self._state, self._utt = "idle", []

    def _utterance(self, *, cut_all: bool = False) -> Utterance:
        end = len(self._utt) if cut_all else min(len(self._utt), self._last_speech + 1 + self._spec_n)
        audio = np.concatenate(self._utt[:end]) if end > 0 else np.zeros(0, dtype=np.float32)
        return Utterance(
            audio=AudioChunk(samples=audio, rate=SAMPLE_RATE, channels=1),
            start_ms=self._utt_start * FRAME_MS,
            end_ms=(self._utt_start + end) * FRAME_MS,
            speech_ms=self._speech_n * FRAME_MS,
            turn_id=self._turn_id,
        )

    def _finish(self, reason: str, *, cut_all: bool = False) -> Utterance:
        utt = self._utterance(cut_all=cut_all)
        speech_end = (self._utt_start + self._last_speech + 1) * FRAME_MS
        self._emit("vad-end", stream_ms=self._pos * FRAME_MS, start_ms=utt.start_ms,
                   speech_end_ms=speech_end, end_ms=utt.end_ms, speech_ms=utt.speech_ms,
                   reason=reason)
        keep = self._utt[-self._preroll_n:] if self._preroll_n else []
        self._preroll.clear()
        self._preroll.extend(keep)
        self._state, self._utt, self._paused = "idle", [], False
        return utt

    def _marks(self, chunk: AudioChunk) -> list[_Mark]:
        audio = self._to_16k(chunk)
        if self._pending.size:
            audio = np.concatenate([self._pending, audio])
        n = audio.shape[0] // FRAME
        marks: list[_Mark] = []
        for i in range(n):
            marks.extend(self._frame(audio[i * FRAME:(i + 1) * FRAME]))
        self._pending = audio[n * FRAME:].copy()
        return marks

    def _flush_marks(self) -> list[_Mark]:
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self._resampler = None
            if tail.size:
                self._pending = np.concatenate([self._pending, tail.astype(np.float32)])
        marks: list[_Mark] = []
        if self._pending.size:  # pad the last partial frame with silence
            frame = np.zeros(FRAME, dtype=np.float32)
            frame[: self._pending.size] = self._pending[:FRAME]
            self._pending = np.zeros(0, dtype=np.float32)
            marks.extend(self._frame(frame))
        if self._state == "speaking":
            marks.append(_Mark("end", self._finish("flush")))
        elif self._state == "maybe":
            self._drop_candidate()
        return marks

    # -------------------------------------------------------- push, no hooks
    def feed(self, chunk: AudioChunk) -> list[Utterance]:
        """Consume one chunk (any rate/channels); return the utterances it completed."""
        return [m.utt for m in self._marks(chunk) if m.kind == "end" and m.utt is not None]

    def flush(self) -> list[Utterance]:
        """End of stream: close an utterance in progress (reason ``flush``)."""
        return [m.utt for m in self._flush_marks() if m.kind == "end" and m.utt is not None]

    # ------------------------------------------------- push, with speculation
    async def feed_async(self, chunk: AudioChunk) -> list[Utterance]:
        """Like :meth:`feed`, plus speculative transcription and early end of turn."""
        out = await self._handle(self._marks(chunk))
        if self._spec_task is not None and not self._spec_task.done():
            await asyncio.sleep(0)  # let the speculative task make progress between chunks
        return out

    async def flush_async(self) -> list[Utterance]:
        return await self._handle(self._flush_marks())

    async def segment(self, audio: AsyncIterable[AudioChunk]) -> AsyncIterator[Utterance]:
        """The ``Vad`` protocol: utterances from a stream of chunks (any rate)."""
        try:
            async for chunk in audio:
                for utt in await self.feed_async(chunk):
                    yield utt
            for utt in await self.flush_async():
                yield utt
        finally:
            self._drop_spec()

    async def _handle(self, marks: list[_Mark]) -> list[Utterance]:
        out: list[Utterance] = []
        for mark in marks:
            if mark.kind == "pause" and mark.utt is not None:
                self._start_spec(mark.utt)
            elif mark.kind == "resume":
                self._drop_spec()
            elif mark.kind == "end" and mark.utt is not None:
                out.append(await self._with_spec(mark.utt))
        task = self._spec_task
        if (self._state == "speaking" and self._paused and self.is_complete is not None
                and task is not None and task is not self._spec_checked and task.done()):
            self._spec_checked = task  # ask the predicate once per speculative transcript
            if self._complete(task):
                out.append(await self._with_spec(self._finish("complete")))
        return out

    def _complete(self, task: asyncio.Task[Transcript]) -> bool:
        if task.cancelled() or task.exception() is not None or self.is_complete is None:
            return False
        text = task.result().text.strip()
        if not text:
            return False
        try:
            complete = bool(self.is_complete(text))
        except Exception:
            log.exception("is_complete hook failed")
            return False
        if complete:
            log.debug("early end of turn: the speculative text is a complete command")
        return complete

    def _start_spec(self, utt: Utterance) -> None:
        if self.transcriber is None:
            return
        if self._spec_stale is not None and not self._spec_stale.done():
            return  # a discarded one still holds the model: don't queue behind it
        self._spec_task = asyncio.create_task(self.transcriber(utt), name="sayso-speculative-stt")
        log.debug("speculative transcription started at %.0f ms", self.position_ms)

    def _drop_spec(self) -> None:
        task, self._spec_task = self._spec_task, None
        if task is not None and not task.done():
            task.cancel()  # the worker thread finishes its inference; the result is ignored
            self._spec_stale = task
            task.add_done_callback(_consume)

    async def _with_spec(self, utt: Utterance) -> Utterance:
        task, self._spec_task = self._spec_task, None
        if task is None:
            return utt
        try:
            transcript = await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            return utt
        except Exception:  # the caller will transcribe again and see the real error
            log.warning("speculative transcription failed; the utterance is returned without it")
            return utt
        return replace(utt, transcript=transcript)


def _consume(task: asyncio.Task[Any]) -> None:
    """Retrieve a discarded task's outcome so asyncio does not log 'never retrieved'."""
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.exception()
