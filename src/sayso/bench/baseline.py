"""The naive design the benchmark compares against: the seed's pipeline.

Whole-utterance STT (no speculative transcription during the pause), then ONE blocking,
non-streaming LLM call (every command goes through the LLM, no fast path), then the tool call,
then the whole reply synthesized before any audio plays. It runs on the very same loaded
components as our pipeline, asks the LLM with the agent's own decision prompt and format (a
tool-call JSON object or plain text, ``tools.decision_format``), so the prompt cache and the
model's choices are the same and only the design differs, and
emits the same TurnEvents, so both are read by the same code.

Since it does no work while the user speaks, its clip is fed as fast as it goes and the end of
speech is placed on the clock from the endpointer's decision (see
:func:`sayso.bench.stats.eos_unpaced`); the endpointing delay is the same as ours.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sayso.audio.base import Vad
from sayso.events import EventSink, TurnEvent, new_turn_id
from sayso.types import AudioChunk, ToolCall, ToolResult, Utterance

log = logging.getLogger(__name__)

CHUNK_MS = 20


class BaselinePipeline:
    """The seed's turn: STT -> blocking LLM -> tool -> whole-reply TTS."""

    def __init__(self, *, stt: Any, llm: Any, tts: Any, browser: Any, max_tokens: int | None = None) -> None:
        self.stt, self.llm, self.tts, self.browser = stt, llm, tts, browser
        self.max_tokens = max_tokens

    async def voice_turn(self, audio: AudioChunk, *, segmenter: Vad, sink: EventSink,
                         chunk_ms: int = CHUNK_MS) -> str:
        """One turn from a whole clip: returns the turn id; every event goes to ``sink``.

        ``chunk_ms``: the size of the chunks handed to the endpointer (as for our pipeline: the
        endpointer can only decide at a chunk's end, so the size is part of the latency).
        """
        utt: Utterance | None = None
        step = max(1, int(audio.rate * chunk_ms / 1000))

        async def chunks():  # as fast as it goes: the baseline does nothing during speech
            for i in range(0, audio.frames, step):
                yield AudioChunk(samples=audio.samples[i:i + step], rate=audio.rate)

        async for u in segmenter.segment(chunks()):
            utt = u
            break
        turn_id = utt.turn_id if utt is not None and utt.turn_id else new_turn_id()
        emit = _emitter(sink, turn_id)
        if utt is None:
            emit("turn-end", spoken=False)
            return turn_id
        transcript = await self.stt.transcribe(utt)
        emit("stt-end", text=transcript.text)
        if transcript.empty:
            emit("turn-end", spoken=False)
            return turn_id
        state = await self.browser.state()
        text = await self._blocking_chat(transcript.text, url=state.url, title=state.title)
        call, answer = _decision(text)
        emit("llm-first-token")  # a blocking call delivers its first token with its last
        emit("intent-end", local=False, tool=call.name if call else "answer")
        emit("llm-end")
        spoken = answer
        if call is not None and call.name != "stop":  # stop: nothing to do, nothing to say
            emit("tool-start", tool=call.name, args=dict(call.args))
            result: ToolResult = await self.browser.execute(call)
            emit("tool-end", tool=call.name, args=dict(call.args), ok=result.ok,
                 code=result.error_code)
            spoken = result.message
            if call.name == "summarize_page" and result.ok:
                spoken = await self._blocking_summary(str(result.data.get("text", "")),
                                                      title=str(result.data.get("title", "")))
        if spoken:
            pieces = [c async for c in self.tts.synthesize(spoken)]  # the whole reply first
            if pieces:
                emit("tts-first-audio")
            emit("tts-end")
        emit("turn-end", spoken=bool(spoken))
        return turn_id

    async def _blocking_chat(self, text: str, *, url: str, title: str) -> str:
        from sayso.agent.prompts import decision_prefix, user_turn
        from sayso.tools import decision_format

        messages = [*decision_prefix(), user_turn(text, url=url, title=title)]
        parts = [chunk.text async for chunk in self.llm.chat(
            messages, response_format=decision_format(), max_tokens=self.max_tokens)]
        return "".join(parts)


    async def _blocking_summary(self, page_text: str, *, title: str) -> str:
        from sayso.agent.prompts import summary_messages

        parts = [chunk.text async for chunk in self.llm.chat(
            summary_messages(page_text, title=title), max_tokens=self.max_tokens)]
        return "".join(parts).strip()


def _decision(text: str) -> tuple[ToolCall | None, str]:
    """The model's decision (a JSON tool call, a JSON answer or plain text) -> (a tool call, or
    None and the answer text)."""
    try:
        obj = json.loads(text)
        tool, args = str(obj.get("tool", "")), dict(obj.get("args") or {})
    except (ValueError, AttributeError, TypeError):
        return None, text.strip()
    if tool in ("", "answer"):
        return None, str(args.get("text", "")).strip()
    return ToolCall(tool, args), ""


def _emitter(sink: EventSink, turn_id: str):
    def emit(type_: str, **data: Any) -> None:
        sink(TurnEvent(type=type_, turn_id=turn_id, data=data))  # type: ignore[arg-type]
    return emit
