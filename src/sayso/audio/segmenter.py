"""Streaming endpointing: audio chunks (any rate, any size) in, one :class:`Utterance` per turn out.

Silero VAD scores each 32 ms frame as soon as it is complete (chunks of any size are cut into
frames; nothing waits for a bucket). A turn starts when speech has lasted ``vad_min_speech_ms``
(the ``vad-start`` event) and keeps ``vad_preroll_ms`` of audio from before the onset. It ends
(``vad-end``) after a trailing silence that depends on the words heard so far
(:mod:`sayso.audio.endpoint`: ~250 ms after a complete command, longer after "search for ...",
``vad_silence_ms`` otherwise), or at ``vad_max_utterance_s``.

Transcribing while the user speaks (the ``transcriber`` hook, e.g. ``stt.transcribe``): every
``stt_partial_ms`` of speech the segmenter transcribes the utterance so far (``stt-partial``
events: ``{text, audio_ms, elapsed_ms, final}``) while the model keeps up (recent runs took no
longer than that), and again once the silence after speech reaches ``vad_speculative_ms``.
One transcription at a time: when the model is still busy the run is skipped, never queued. A transcript that covers every speech frame of the utterance
(``final``: only silence came after its audio) is what the final transcript would say: the
finished utterance carries it in ``Utterance.transcript`` and the caller need not transcribe
again. The ``is_complete`` hook (e.g. the fast path's "scroll down") and
:func:`sayso.audio.endpoint.is_unfinished` read these transcripts to choose the silence.

The ``on_final`` hook hears each final transcript as it lands during the trailing silence
(unless its words are an unfinished request), and ``None`` when speech resumes after it: the
assistant may start thinking early on it (``Assistant.speculate``).

Two ways to drive it:

* ``async for utt in seg.segment(chunks)``: the :class:`~sayso.audio.base.Vad` protocol.
* push style for callbacks (Gradio): ``await seg.feed_async(chunk)`` /
  ``await seg.flush_async()`` (with transcription), or the plain ``seg.feed(chunk)`` /
  ``seg.flush()`` (no transcription, no awaiting). Each returns the utterances completed.

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
from sayso.audio.endpoint import EndpointConfig, Words, classify, silence_to_end
from sayso.audio.vad import FRAME, FRAME_MS, SileroVad
from sayso.config import Settings
from sayso.events import EventSink, TurnEvent, new_turn_id, now_ms
from sayso.types import SAMPLE_RATE, AudioChunk, Transcript, Utterance

log = logging.getLogger(__name__)

Transcriber = Callable[[Utterance], Awaitable[Transcript]]
CompletePredicate = Callable[[str], bool]
FinalHook = Callable[[Transcript | None], None]

# a frame this far below the threshold counts as silence once speech has started (hysteresis)
NEG_OFFSET = 0.15
# a transcript is final when its audio runs this many frames past the last speech frame
MARGIN_FRAMES = 3
# how long recent transcriptions took (wall ms, smoothed), per transcriber: partials during
# speech run only while the model keeps up (a partial that is still running when the user
# stops would hold up the transcript of all the words)
_PACE: dict[Any, float] = {}


@dataclass(frozen=True, slots=True)
class SegmenterConfig:
    threshold: float = 0.5
    min_speech_ms: int = 200
    silence_ms: int = 450
    complete_ms: int = 250
    incomplete_ms: int = 1200
    preroll_ms: int = 300
    max_utterance_s: float = 30.0
    speculative_ms: int = 150
    partial_ms: int = 300  # 0: no transcripts during speech

    @classmethod
    def from_settings(cls, settings: Settings) -> SegmenterConfig:
        return cls(
            threshold=settings.vad_threshold,
            min_speech_ms=settings.vad_min_speech_ms,
            silence_ms=settings.vad_silence_ms,
            complete_ms=settings.vad_silence_complete_ms,
            incomplete_ms=settings.vad_silence_incomplete_ms,
            preroll_ms=settings.vad_preroll_ms,
            max_utterance_s=settings.vad_max_utterance_s,
            speculative_ms=settings.vad_speculative_ms,
            partial_ms=settings.stt_partial_ms,
        )

    @property
    def endpoint(self) -> EndpointConfig:
        return EndpointConfig(silence_ms=self.silence_ms, complete_ms=self.complete_ms,
                              incomplete_ms=self.incomplete_ms)


def _frames(ms: float) -> int:
    return max(1, round(ms / FRAME_MS))


@dataclass(slots=True)
class _Run:
    """One transcription of the utterance's first ``n`` frames (running or done)."""

    task: asyncio.Task[Transcript]
    n: int
    turn_id: str
    t0: float = 0.0  # when it started (wall ms)
    seen: bool = False  # its outcome was taken in


@dataclass(frozen=True, slots=True)
class _Heard:
    """The latest transcript of the utterance in progress: of its first ``n`` frames."""

    transcript: Transcript
    n: int
    words: Words


@dataclass(slots=True)
class _Mark:
    """What the frame loop reports: a transcription to start on ``utt``, a resume, or an end."""

    kind: str  # "run" | "resume" | "end"
    utt: Utterance | None = None
    n: int = 0


class Segmenter:
    """Silero-based streaming segmenter; implements the ``Vad`` protocol."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        config: SegmenterConfig | None = None,
        sink: EventSink | None = None,
        transcriber: Transcriber | None = None,
        is_complete: CompletePredicate | None = None,
        on_final: FinalHook | None = None,
        turn_id_factory: Callable[[], str] = new_turn_id,
    ) -> None:
        if config is None:
            config = SegmenterConfig.from_settings(settings) if settings is not None else SegmenterConfig()
        self.config = config
        self.sink = sink
        self.transcriber = transcriber
        self.is_complete = is_complete
        self.on_final = on_final
        self._new_turn_id = turn_id_factory
        self._endpoint = config.endpoint
        self._vad = SileroVad()
        self._preroll_n = round(config.preroll_ms / FRAME_MS)
        self._spec_n = _frames(config.speculative_ms)
        self._partial_n = _frames(config.partial_ms) if config.partial_ms > 0 else 0
        self._min_speech_n = _frames(config.min_speech_ms) if config.min_speech_ms > 0 else 1
        self._max_n = _frames(config.max_utterance_s * 1000.0)
        self._resampler: soxr.ResampleStream | None = None
        self._resampler_rate = 0
        self._run: _Run | None = None
        self._handover: asyncio.Task[Transcript] | None = None  # the final transcript, coming
        self._hooks = False  # True while an async caller drives the frame loop
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
        self._turn_id = ""
        self._handover = None
        self._new_utterance_state()

    def _new_utterance_state(self) -> None:
        self._heard: _Heard | None = None
        self._run_wanted = False  # a "run" mark is out, its task not created yet
        self._last_run_n = 0  # frames covered by the last transcription started
        self._failed = False  # the last transcription raised: do not wait for words
        self._final_told = False  # on_final was given this pause's transcript

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

    def _covers_speech(self, n: int) -> bool:
        """A transcript of the first ``n`` frames holds every word said so far."""
        return n >= min(len(self._utt), self._last_speech + 1 + MARGIN_FRAMES)

    def _silence_needed_ms(self) -> float:
        """The trailing silence that ends the turn now (:mod:`sayso.audio.endpoint`)."""
        heard = self._heard
        fresh = heard is not None and self._covers_speech(heard.n)
        words = heard.words if heard is not None else Words.UNKNOWN
        waiting = self._hooks and self.transcriber is not None and not self._failed
        return silence_to_end(self._endpoint, words, fresh=fresh, waiting=waiting)

    def _frame(self, frame: np.ndarray) -> list[_Mark]:
        run = self._run
        if run is not None and not run.seen and run.task.done():
            self._landed(run)  # sample-exact: whatever landed counts from this frame on
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
                self._new_utterance_state()
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
            if self._final_told:
                self._final_told = False
                marks.append(_Mark("resume"))
        else:
            self._silence_run += 1

        if self._state == "maybe":
            self._maybe_start()
            if self._state == "maybe" and self._silence_run >= _frames(self._endpoint.silence_ms):
                self._drop_candidate()
            return marks

        silence_ms = self._silence_run * FRAME_MS
        if self._silence_run > 0 and self._silence_run >= _frames(self._silence_needed_ms()):
            heard = self._heard
            early = (heard is not None and heard.words is Words.COMPLETE and self._covers_speech(heard.n)
                     and silence_ms < self._endpoint.silence_ms)
            marks.append(_Mark("end", self._finish("complete" if early else "silence")))
        elif len(self._utt) >= self._max_n:
            speaking = self._silence_run == 0
            marks.append(_Mark("end", self._finish("max_length", cut_all=True)))
            if speaking:  # still talking: the next utterance starts right here
                self._state = "speaking"
                self._turn_id = self._new_turn_id()
                self._utt, self._utt_start = [], self._pos
                self._speech_n, self._last_speech = 0, -1
                self._new_utterance_state()
                self._emit("vad-start", stream_ms=self._pos * FRAME_MS, continued=True)
        elif self._hooks and self.transcriber is not None:
            mark = self._maybe_run()
            if mark is not None:
                marks.append(mark)
        return marks

    def _maybe_run(self) -> _Mark | None:
        """Transcribe the utterance so far now? (a partial during speech, or in the pause)."""
        if self._run_wanted or self._busy():
            return None
        n = len(self._utt)
        heard_n = self._heard.n if self._heard is not None else 0
        if self._covers_speech(max(heard_n, self._last_run_n)):
            return None  # nothing new was said since the last transcription
        pause = self._silence_run >= self._spec_n
        due = (self._partial_n > 0 and n - self._last_run_n >= self._partial_n
               and _PACE.get(self.transcriber, 0.0) <= self.config.partial_ms)
        if not (pause or due):
            return None
        self._run_wanted = True
        return _Mark("run", self._utterance(cut_all=True), n)

    def _busy(self) -> bool:
        return self._run is not None and not self._run.task.done()

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
            end_t_ms=now_ms(),
        )

    def _finish(self, reason: str, *, cut_all: bool = False) -> Utterance:
        utt = self._utterance(cut_all=cut_all)
        speech_end = (self._utt_start + self._last_speech + 1) * FRAME_MS
        self._emit("vad-end", stream_ms=self._pos * FRAME_MS, start_ms=utt.start_ms,
                   speech_end_ms=speech_end, end_ms=utt.end_ms, speech_ms=utt.speech_ms,
                   reason=reason)
        # the transcript to hand over: a final one already heard, or the one being made
        n = utt.audio.frames // FRAME
        if self._heard is not None and self._heard.n >= min(n, self._last_speech + 1 + MARGIN_FRAMES):
            utt = replace(utt, transcript=self._heard.transcript)
        elif (self._run is not None and self._run.turn_id == self._turn_id and not self._run.task.done()
              and self._run.n >= min(n, self._last_speech + 1 + MARGIN_FRAMES)):
            self._handover = self._run.task
        keep = self._utt[-self._preroll_n:] if self._preroll_n else []
        self._preroll.clear()
        self._preroll.extend(keep)
        self._state, self._utt = "idle", []
        self._new_utterance_state()
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
        self._hooks = False
        return [m.utt for m in self._marks(chunk) if m.kind == "end" and m.utt is not None]

    def flush(self) -> list[Utterance]:
        """End of stream: close an utterance in progress (reason ``flush``)."""
        self._hooks = False
        return [m.utt for m in self._flush_marks() if m.kind == "end" and m.utt is not None]

    # ------------------------------------------------ push, with transcription
    async def feed_async(self, chunk: AudioChunk) -> list[Utterance]:
        """Like :meth:`feed`, plus transcripts during speech and the word-aware end of turn."""
        self._hooks = True
        out = await self._handle(self._marks(chunk))
        if self._busy():
            await asyncio.sleep(0)  # let the transcription task make progress between chunks
        return out

    async def flush_async(self) -> list[Utterance]:
        self._hooks = True
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
            self.close()

    def close(self) -> None:
        """Stop caring about a transcription in flight (its thread finishes; the result is ignored)."""
        run, self._run = self._run, None
        if run is not None and not run.task.done():
            run.task.cancel()
            run.task.add_done_callback(_consume)

    async def _handle(self, marks: list[_Mark]) -> list[Utterance]:
        out: list[Utterance] = []
        for mark in marks:
            if mark.kind == "run" and mark.utt is not None:
                self._start_run(mark.utt, mark.n)
            elif mark.kind == "resume":
                self._tell_final(None)
            elif mark.kind == "end" and mark.utt is not None:
                out.append(await self._with_transcript(mark.utt))
        return out

    def _start_run(self, utt: Utterance, n: int) -> None:
        self._run_wanted = False
        if self.transcriber is None or utt.turn_id != self._turn_id or self._busy():
            return
        task = asyncio.create_task(self.transcriber(utt), name="sayso-partial-stt")
        run = _Run(task=task, n=n, turn_id=utt.turn_id, t0=now_ms())
        self._run = run
        self._last_run_n = n
        task.add_done_callback(lambda t: self._landed(run))
        log.debug("transcribing %d frames at %.0f ms", n, self.position_ms)

    def _landed(self, run: _Run) -> None:
        """A transcription finished: keep it as the latest heard words of its utterance."""
        if run.seen:
            return
        run.seen = True
        task = run.task
        if task.cancelled():
            return
        if task.exception() is not None:
            log.warning("transcription during speech failed: %s", task.exception())
            if run.turn_id == self._turn_id:
                self._failed = True
            return
        wall = now_ms() - run.t0
        pace = _PACE.get(self.transcriber)
        _PACE[self.transcriber] = wall if pace is None else (pace + wall) / 2
        if run.turn_id != self._turn_id or self._state != "speaking":
            return  # a later utterance, or already handed over
        self._failed = False
        transcript = task.result()
        if self._heard is not None and self._heard.n >= run.n:
            return
        try:
            words = classify(transcript.text, self.is_complete)
        except Exception:
            log.exception("is_complete hook failed")
            words = classify(transcript.text)
        changed = self._heard is None or self._heard.transcript.text != transcript.text
        self._heard = _Heard(transcript=transcript, n=run.n, words=words)
        final = self._covers_speech(run.n) and self._silence_run > 0
        if changed or final:
            self._emit("stt-partial", text=transcript.text.strip(), audio_ms=round(run.n * FRAME_MS),
                       elapsed_ms=round(transcript.elapsed_ms, 1), final=final, words=words.value)
        if final and not self._final_told and not transcript.empty and words is not Words.UNFINISHED:
            self._final_told = True
            self._tell_final(transcript)

    def _tell_final(self, transcript: Transcript | None) -> None:
        if self.on_final is None:
            return
        try:
            self.on_final(transcript)
        except Exception:  # a hook must not break endpointing
            log.exception("on_final hook failed")

    async def _with_transcript(self, utt: Utterance) -> Utterance:
        task, self._handover = self._handover, None
        if utt.transcript is not None or task is None:
            return utt
        try:
            transcript = await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            return utt
        except Exception:  # the caller will transcribe again and see the real error
            log.warning("transcription failed; the utterance is returned without a transcript")
            return utt
        return replace(utt, transcript=transcript)


def _consume(task: asyncio.Task[Any]) -> None:
    """Retrieve a discarded task's outcome so asyncio does not log 'never retrieved'."""
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.exception()
