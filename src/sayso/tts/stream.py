"""Streaming helpers for TTS: run a blocking generator in a thread; speak an LLM text stream.

:func:`speak_stream` is what the agent uses: it splits streamed text into sentences
(:mod:`sayso.tts.sentences`), makes each one speakable (:mod:`sayso.tts.speakable`) and
synthesizes it as soon as it is complete, yielding ``(sentence, chunk)`` pairs. While one
sentence is being synthesized the next one keeps arriving from the LLM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from sayso.tts.sentences import FIRST_CLAUSE_WORDS, SentenceSplitter
from sayso.tts.speakable import speakable
from sayso.types import AudioChunk

if TYPE_CHECKING:
    from sayso.tts.base import Tts

log = logging.getLogger(__name__)

T = TypeVar("T")
_END = object()


async def iterate_in_thread(make_iter: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """Iterate a blocking generator in a worker thread, yielding its items on the event loop.

    The generator is created and consumed entirely inside the thread. If the consumer stops
    early (barge-in, cancellation) the thread stops after its current item.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
    stop = threading.Event()

    def put(item: Any, exc: BaseException | None = None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(queue.put_nowait, (item, exc))

    def run() -> None:
        try:
            for item in make_iter():
                if stop.is_set():
                    return
                put(item)
        except BaseException as exc:  # handed to the consumer, re-raised there
            put(_END, exc)
            return
        put(_END)

    worker = loop.run_in_executor(None, run)
    try:
        while True:
            item, exc = await queue.get()
            if item is _END:
                if exc is not None:
                    raise exc
                break
            yield item
    finally:
        stop.set()
        worker.add_done_callback(lambda f: f.exception())


async def speak_stream(
    tts: Tts, text_deltas: AsyncIterable[str], *, first_max_chars: int = 90,
    first_clause_words: int = FIRST_CLAUSE_WORDS,
) -> AsyncIterator[tuple[str, AudioChunk]]:
    """Speak streamed text: ``(sentence, chunk)`` for every audio chunk, sentence by sentence.

    ``sentence`` is the text as written (for captions); what is spoken is ``speakable(sentence)``.
    Splitting runs ahead of synthesis: sentences are queued while the previous one is spoken.
    The first clause is spoken alone (``first_clause_words``: see ``SentenceSplitter``), so the
    first audio waits for a few words, not a whole sentence.
    """
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    async def produce() -> None:
        splitter = SentenceSplitter(first_max_chars=first_max_chars, first_clause_words=first_clause_words)
        try:
            async for delta in text_deltas:
                for sentence in splitter.push(delta):
                    queue.put_nowait(sentence)
            for sentence in splitter.flush():
                queue.put_nowait(sentence)
        finally:
            queue.put_nowait(None)

    producer = asyncio.create_task(produce(), name="sayso-tts-sentences")
    try:
        while True:
            sentence = await queue.get()
            if sentence is None:
                break
            spoken = speakable(sentence)
            if not spoken or not any(ch.isalnum() for ch in spoken):
                continue
            async for chunk in tts.synthesize(spoken):
                yield sentence, chunk
        await producer  # re-raise an error of the text stream
    finally:
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
