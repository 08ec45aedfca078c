"""The assistant of one user: turns, history, barge-in. The web app, ``sayso chat``/``do``,
the metrics and the benchmark all consume the event stream documented here.

Use::

    assistant = Assistant(settings=s, llm=llm, stt=stt, tts=tts, browser=browser, sink=fanout)
    async for event in assistant.text_turn("open wikipedia"):     # or voice_turn(utterance)
        ...
    assistant.cancel()   # barge-in: stops the LLM stream and pending speech of the current turn
    assistant.speculate(transcript)  # the user has gone quiet: start thinking (agent/early.py)

Any stage may be ``None`` (not installed, failed to load): the turn says so in one sentence and
goes on; fast-path browser commands work without an LLM, text turns without STT or TTS.

Event stream (``sayso.events.TurnEvent``: ``type``, ``turn_id``, ``t_ms`` monotonic ms, ``data``:
the typed payload, also ``ev.payload``), in order; every turn starts with ``turn-start`` and ends
with exactly one of ``turn-end`` or ``cancelled``:

=================  ==========================================================================
turn-start         TurnStart {source: "text"|"voice", text}
stt-end            SttEnd {text, no_speech_prob, avg_logprob, elapsed_ms}    (voice turns only)
llm-first-token    LlmFirstToken {round}      the LLM's first output (each round; summaries too)
llm-end            LlmEnd {round, prompt_tokens, cached_tokens, completion_tokens, prompt_ms,
                   predicted_ms}
intent-end         IntentEnd {local, tools}   what was decided; local = fast path, no LLM;
                   tools = [] for a plain answer
tool-start         ToolStart {tool, args}
tool-end           ToolEnd {tool, ok, message, error_code}  (no page data, no page text)
browser-state      BrowserStateChanged {url, title, tabs: [{index, title, url, active}]}
                   after each browser tool
reply-text         ReplyText {delta}          reply text as it is produced (join for the reply)
tts-first-audio    TtsFirstAudio {text}       just before the first audio chunk
audio              Audio {chunk: AudioChunk (int16 mono, the TTS rate), text: the sentence}
error              ErrorEvent {code, message} a stage failed; the turn goes on when it can
turn-end           TurnSummary {transcript, reply, actions: (ActionRecord {tool, args, ok, error,
                   message, error_code}, ...), browser: BrowserState, timings_ms, local,
                   cancelled=False, empty, source}
cancelled          Cancelled: the TurnSummary of what was done and said before the turn was
                   cancelled (barge-in, stop); that much is kept in the history too
=================  ==========================================================================

The segmenter adds ``vad-start``, ``stt-partial`` (transcripts while the user speaks) and
``vad-end`` under the same turn id (the utterance's). Voice timings run from the end of speech
(``Utterance.end_t_ms``), text timings from ``turn-start``.

A voice turn with no speech (empty or made-up transcript) ends with ``turn-end`` with
``empty: true`` and nothing said; a doubtful transcript is never acted on: the turn asks "Did you
mean ...?" when the page vocabulary suggests one thing, else "Sorry, could you repeat that?".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from sayso.agent.conversation import Conversation, Exchange
from sayso.agent.early import EarlyStart, PrefetchedLlm
from sayso.agent.recognise import REPEAT  # noqa: F401 - re-exported: words too doubtful to act on
from sayso.agent.speaker import Speaker
from sayso.agent.turn import Turn, TurnOutcome
from sayso.agent.vocabulary import Vocabulary
from sayso.browser.base import Browser, BrowserState
from sayso.config import Settings
from sayso.errors import SaysoError
from sayso.events import (
    Cancelled,
    EventSink,
    TurnEvent,
    TurnSummary,
    durations,
    event,
    new_turn_id,
    now_ms,
)
from sayso.llm.base import Llm
from sayso.logs import turn_context
from sayso.stt.base import Stt
from sayso.stt.filters import doubtful as stage_doubtful
from sayso.tts.base import Tts
from sayso.types import ToolCall, Transcript, Utterance

log = logging.getLogger(__name__)

NO_STT = "I can't hear you right now, because speech recognition is not available."

Emit = Callable[..., None]
Body = Callable[[Emit, Callable[[str], None]], Awaitable[TurnOutcome]]


def _ignore(*_args: Any, **_kw: Any) -> None:
    return None


def doubtful(t: Transcript) -> bool:
    """The speech stage's own doubt (its one threshold, in sayso.stt.filters)."""
    return stage_doubtful(t.no_speech_prob, t.avg_logprob)


class Assistant:
    """One user's assistant. STT, LLM and TTS may be shared between assistants; the browser not."""

    def __init__(
        self,
        *,
        settings: Settings,
        llm: Llm | None,
        stt: Stt | None,
        tts: Tts | None,
        browser: Browser | None,
        sink: EventSink | None = None,
        dry_run: bool = False,
        history_tokens: int = 600,
    ) -> None:
        self.settings = settings
        self.llm = llm
        self.stt = stt
        self.tts = tts
        self.browser = browser
        self.sink = sink
        self.dry_run = dry_run
        self.speak = True  # False: text only (sayso do / chat), no TTS even when one is given
        self.conversation = Conversation(budget_tokens=history_tokens)
        self.page = BrowserState()
        self.pending: ToolCall | None = None  # a risky action (or a guess) waiting for the user's "yes"
        self._turn: Turn | None = None  # the running turn (what it did so far, if it is cancelled)
        self.vocabulary = Vocabulary()  # what the user can mean on the current page
        self._current: asyncio.Task[None] | None = None
        self._early: EarlyStart | None = None  # the LLM started on the words so far

    # history ---------------------------------------------------------------------------------
    @property
    def history(self) -> Sequence[Exchange]:
        return self.conversation.turns

    def clear_history(self) -> None:
        self.conversation.clear()

    # turns -----------------------------------------------------------------------------------
    def text_turn(self, text: str) -> AsyncIterator[TurnEvent]:
        """One turn from typed (or already transcribed) text."""
        self.speculate(None)

        async def body(emit: Emit, say: Callable[[str], None]) -> TurnOutcome:
            emit("turn-start", source="text", text=text)
            return await self._run_text(text, emit, say)

        return self._stream(body)

    def voice_turn(self, utt: Utterance) -> AsyncIterator[TurnEvent]:
        """One turn from speech: STT first (or the segmenter's speculative transcript)."""

        async def body(emit: Emit, say: Callable[[str], None]) -> TurnOutcome:
            emit("turn-start", source="voice")
            if utt.transcript is not None:
                transcript = utt.transcript
            elif self.stt is None:
                emit("error", code="stage.unavailable", message=NO_STT)
                say(NO_STT)
                return TurnOutcome(transcript="", reply=NO_STT)
            else:
                # bias the recogniser toward this page's words (when configured)
                heard = replace(utt, prompt=self.vocabulary.prompt()) if self.settings.stt_vocab_prompt else utt
                transcript = await self.stt.transcribe(heard)
            nsp, logprob = transcript.no_speech_prob, transcript.avg_logprob  # None from a peer
            emit("stt-end", text=transcript.text,
                 no_speech_prob=None if nsp is None else round(nsp, 3),
                 avg_logprob=None if logprob is None else round(logprob, 3),
                 elapsed_ms=round(transcript.elapsed_ms, 1))
            if transcript.empty:
                self.speculate(None)
                return TurnOutcome(transcript="")
            # doubtful words are never acted on: the turn asks "Did you mean ...?" or to repeat
            text = transcript.text.strip()
            early = None if doubtful(transcript) else self._take_early(text)
            if early is None:
                self.speculate(None)
            try:
                return await self._run_text(text, emit, say, doubtful=doubtful(transcript),
                                            llm=PrefetchedLlm(self.llm, early) if early and self.llm else None)
            finally:
                if early is not None:
                    early.cancel()  # unused (the turn asked the LLM something else), or done

        # the segmenter's turn id: its vad-start/vad-end and this turn's events are one turn
        return self._stream(body, turn_id=utt.turn_id, source="voice", since_ms=utt.end_t_ms)

    def speculate(self, transcript: Transcript | None) -> None:
        """Start the LLM on ``transcript`` (all the words of an utterance whose end is not
        declared yet), buffered: the next voice turn uses it if its transcript is the same
        text, else it is dropped without a trace. ``None`` drops the one running."""
        early, self._early = self._early, None
        if early is not None:
            early.cancel()
        if (transcript is None or not self.settings.llm_early or transcript.empty
                or doubtful(transcript) or self.llm is None or self.busy or self._page_unknown):
            return
        text = transcript.text.strip()
        probe = Turn(settings=self.settings, llm=self.llm, browser=None, conversation=self.conversation,
                     emit=_ignore, say=_ignore, page=self.page, dry_run=self.dry_run, pending=self.pending,
                     vocabulary=self.vocabulary)
        request = probe.first_request(text)
        if request is None:
            return  # the fast path (or a yes/no) answers it without the LLM
        log.debug("thinking early on the words so far")
        self._early = EarlyStart(self.llm, text, *request)

    @property
    def _page_unknown(self) -> bool:
        """The first turn asks the browser where it is (the prompt names the page)."""
        return self.browser is not None and not self.page.url and not self.dry_run

    def _take_early(self, text: str) -> EarlyStart | None:
        early, self._early = self._early, None
        if early is None:
            return None
        if early.text != text or early.cancelled:
            early.cancel()
            log.debug("the words changed after the early start; it is dropped")
            return None
        return early

    def cancel(self) -> None:
        """Barge-in: cancel the current turn (its LLM stream and pending speech)."""
        task = self._current
        if task is not None and not task.done():
            task.cancel()

    @property
    def busy(self) -> bool:
        return self._current is not None and not self._current.done()

    async def close(self) -> None:
        """End the session: cancel the turn and close this session's browser (shared models stay)."""
        self.cancel()
        self.speculate(None)
        if self._current is not None:
            await asyncio.wait({self._current})
        browser, self.browser = self.browser, None
        if browser is not None:
            try:
                await browser.close()
            except Exception:  # closing is best effort
                log.warning("closing the browser failed", exc_info=True)

    # internals -------------------------------------------------------------------------------
    async def _run_text(self, text: str, emit: Emit, say: Callable[[str], None], *,
                        doubtful: bool = False, llm: Llm | PrefetchedLlm | None = None) -> TurnOutcome:
        text = text.strip()
        if not text:
            return TurnOutcome(transcript="")
        if self._page_unknown:
            try:
                self.page = await self.browser.state()
            except Exception:
                log.debug("no browser state yet", exc_info=True)
        pending, self.pending = self.pending, None  # any other answer drops the question
        turn = Turn(settings=self.settings, llm=llm or self.llm, browser=self.browser,
                    conversation=self.conversation, emit=emit, say=say, page=self.page,
                    dry_run=self.dry_run, pending=pending, vocabulary=self.vocabulary)
        self._turn = turn
        try:
            outcome = await turn.run(text, doubtful=doubtful)
        finally:
            self.page = turn.page
        self.pending = outcome.pending
        return outcome

    def _stream(self, body: Body, turn_id: str = "", *, source: str = "text",
                since_ms: float = 0.0) -> AsyncIterator[TurnEvent]:
        return self._events(body, turn_id, source, since_ms)

    async def _events(self, body: Body, given_id: str, source: str, since_ms: float) -> AsyncIterator[TurnEvent]:
        if self.busy:
            self.cancel()  # a new turn barges in on the old one
            assert self._current is not None
            await asyncio.wait({self._current})
        turn_id = given_id or new_turn_id()
        queue: asyncio.Queue[TurnEvent | None] = asyncio.Queue()
        seen: list[TurnEvent] = []
        if since_ms:  # the end of speech, from the segmenter: voice timings start there
            seen.append(TurnEvent(type="vad-end", turn_id=turn_id, t_ms=since_ms))

        def publish(ev: TurnEvent) -> None:
            seen.append(ev)
            queue.put_nowait(ev)
            if self.sink is not None:
                try:
                    self.sink(ev)
                except Exception:
                    log.exception("event sink failed on %s", ev.type)

        def emit(type_: str, **data: Any) -> None:
            publish(event(type_, turn_id, **data))

        def finish(outcome: TurnOutcome | None, *, cancelled: bool) -> None:
            """Remember the turn and end it with its summary (``turn-end`` or ``cancelled``)."""
            outcome = outcome or TurnOutcome(transcript="")
            self._remember(outcome, turn_id)
            t_end = now_ms()
            kind = "cancelled" if cancelled else "turn-end"
            timings = durations([*seen, TurnEvent(type=kind, turn_id=turn_id, t_ms=t_end)])
            if cancelled:
                timings["total"] = round(t_end - (seen[0].t_ms if seen else t_end), 1)
            fields: dict[str, Any] = dict(
                transcript=outcome.transcript, reply=outcome.reply.strip(), actions=tuple(outcome.actions),
                browser=outcome.state or (self._turn.page if self._turn is not None else self.page),
                timings_ms=timings, local=outcome.local, empty=not outcome.transcript and not cancelled,
                source=source)
            summary = Cancelled(**fields) if cancelled else TurnSummary(**fields)
            publish(TurnEvent(type=kind, turn_id=turn_id, t_ms=t_end, data=summary))

        task = asyncio.create_task(self._guard(turn_id, body, emit, finish, queue), name=f"sayso-turn-{turn_id}")
        self._current = task
        try:
            while True:
                ev = await queue.get()
                if ev is None:
                    return
                yield ev
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})

    async def _guard(self, turn_id: str, body: Body, emit: Emit,
                     finish: Callable[..., None], queue: asyncio.Queue[TurnEvent | None]) -> None:
        speaker = (Speaker(self.tts, emit, first_clause_words=self.settings.tts_first_clause_words)
                   if (self.tts is not None and self.speak) else None)
        self._turn = None

        def say(delta: str) -> None:
            if delta:
                emit("reply-text", delta=delta)
                if speaker is not None:
                    speaker.push(delta)

        outcome: TurnOutcome | None = None
        with turn_context(turn_id):
            try:
                if speaker is not None:
                    speaker.start()
                try:
                    outcome = await body(emit, say)
                except SaysoError as exc:
                    log.warning("turn failed: %s", exc.one_line())
                    emit("error", code=exc.code, message=exc.message)
                    say(exc.message)
                    outcome = TurnOutcome(transcript="", reply=exc.message)
                except Exception as exc:  # the last boundary of a turn: one sentence, session goes on
                    log.exception("turn failed")
                    msg = f"Something went wrong ({type(exc).__name__}). Please try again."
                    emit("error", code="internal", message=msg)
                    say(msg)
                    outcome = TurnOutcome(transcript="", reply=msg)
                if speaker is not None:
                    await speaker.finish()
                finish(outcome, cancelled=False)
            except asyncio.CancelledError:
                if speaker is not None:
                    await speaker.cancel()
                # what was done and said so far stays in the history: its tools did run
                finish(outcome or (self._turn.out if self._turn is not None else None), cancelled=True)
                raise
            finally:
                self._turn = None
                queue.put_nowait(None)

    def _remember(self, outcome: TurnOutcome, turn_id: str) -> None:
        if outcome.transcript:
            self.conversation.add(Exchange(user=outcome.transcript, reply=outcome.reply.strip(),
                                           calls=tuple(outcome.calls), turn_id=turn_id, said=outcome.said))

