"""Fallback voices: when a voice cannot speak, the next one does, and sayso says so once.

One adapter for every fallback sayso has: a Wyoming server (or the Chatterbox worker) that is
down, refuses a request or offers no voice -> the bundled Piper voice; the worker's GPU voice
that cannot be placed in memory -> Piper on the CPU. :func:`first_loadable` is the same policy at
load time for local voices (Piper cannot load -> espeak-ng).

A voice that fails before any audio (``TtsUnavailable``, or a ``SaysoError`` while building it)
is skipped for ``retry_s`` and the next one speaks the same text; ``notice`` holds the one
sentence saying so, logged once. A voice that fails after its first audio raises ``TtsError``:
half a sentence cannot be taken back.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from sayso.errors import SaysoError, TtsError, TtsUnavailable
from sayso.tts.base import Tts
from sayso.types import AudioChunk

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Voice:
    """One candidate: ``label`` names it in sentences ("The Wyoming speech server at ..."),
    ``build`` makes it ready (may raise a SaysoError: it cannot load)."""

    label: str
    build: Callable[[], Awaitable[Tts]]


def unavailable_sentence(label: str, why: str, instead: str) -> str:
    """E.g. 'The X at Y is not running (why), so the bundled Piper voice is speaking instead.'"""
    if instead.startswith("The "):
        instead = "the " + instead[4:]
    return f"{label} {why}, so {instead} is speaking instead."


class FallbackTts:
    """The ``Tts`` protocol over an ordered list of voices (the first is the one wanted)."""

    def __init__(self, voices: Sequence[Voice], *, retry_s: float, name: str | None = None) -> None:
        if not voices:
            raise ValueError("FallbackTts needs at least one voice")
        self.voices = tuple(voices)
        self.retry_s = retry_s
        self.notice = ""  # one sentence while a fallback voice is speaking
        self._name = name
        self._built: dict[int, Tts] = {}
        self._down_until = [0.0] * len(self.voices)
        self._speaking = 0  # the voice that spoke last

    @property
    def name(self) -> str:
        built = self._built.get(self._speaking)
        return self._name or (built.name if built is not None else "tts")

    @property
    def sample_rate(self) -> int:
        built = self._built.get(self._speaking)
        return built.sample_rate if built is not None else 22_050

    @property
    def speaking(self) -> Tts | None:
        """The voice that spoke last (None before the first request)."""
        return self._built.get(self._speaking)

    async def _get(self, i: int) -> Tts:
        tts = self._built.get(i)
        if tts is None:
            try:
                tts = await self.voices[i].build()
            except TtsUnavailable as exc:
                raise _Down(exc.why, permanent=False) from exc
            except SaysoError as exc:  # cannot load: do not try again in this process
                raise _Down(f"could not be loaded ({exc.message.rstrip('.')})", permanent=True) from exc
            self._built[i] = tts
        return tts

    def _mark_down(self, i: int, why: str, *, permanent: bool) -> None:
        self._down_until[i] = math.inf if permanent else time.monotonic() + self.retry_s
        if i + 1 >= len(self.voices):
            return
        sentence = unavailable_sentence(self.voices[i].label, why, self.voices[i + 1].label)
        if sentence != self.notice:
            log.warning("%s", sentence)
        self.notice = sentence

    def _spoke(self, i: int) -> None:
        self._speaking = i
        if i == 0 and self.notice:
            log.info("%s answers again; using it.", self.voices[0].label)
            self.notice = ""

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        if not text.strip():
            return
        last = len(self.voices) - 1
        for i, voice in enumerate(self.voices):
            if i < last and time.monotonic() < self._down_until[i]:
                continue
            started = False
            try:
                tts = await self._get(i)
                async for chunk in tts.synthesize(text):
                    if not started:
                        started = True
                        self._spoke(i)
                    yield chunk
                if not started:
                    self._spoke(i)
                return
            except _Down as exc:
                if i == last:
                    raise TtsError(f"{voice.label} {exc.why}.", code="tts.unavailable") from exc
                self._mark_down(i, exc.why, permanent=exc.permanent)
            except TtsUnavailable as exc:
                if started:
                    raise TtsError(f"{voice.label} stopped in the middle of a sentence.",
                                   code="tts.remote") from exc
                if i == last:
                    raise
                self._mark_down(i, exc.why, permanent=False)

    async def warmup(self) -> None:
        """Make the first voice that can speak ready (checking a server is up is a warm-up)."""
        last = len(self.voices) - 1
        for i, voice in enumerate(self.voices):
            try:
                tts = await self._get(i)
                await tts.warmup()
                self._speaking = i
                return
            except _Down as exc:
                if i == last:
                    raise TtsError(f"{voice.label} {exc.why}.", code="tts.unavailable") from exc
                self._mark_down(i, exc.why, permanent=exc.permanent)
            except TtsUnavailable as exc:
                if i == last:
                    raise
                self._mark_down(i, exc.why, permanent=False)

    async def close(self) -> None:
        built, self._built = self._built, {}
        for tts in built.values():
            await tts.close()


class _Down(Exception):  # noqa: N818
    def __init__(self, why: str, *, permanent: bool) -> None:
        super().__init__(why)
        self.why = why
        self.permanent = permanent


def first_loadable(candidates: Sequence[tuple[str, Callable[[], Tts]]]) -> Tts:
    """The first local voice that loads, logging one sentence for each that cannot.

    ``candidates``: (label, load) pairs; ``load`` raises a SaysoError (or any error of an
    optional stack) when the voice cannot load. The last one's error is raised as it is.
    """
    for i, (label, load) in enumerate(candidates):
        if i == len(candidates) - 1:
            return load()
        try:
            return load()
        except Exception as exc:  # noqa: BLE001  (a broken optional stack is a reason to fall back)
            reason = exc.message if isinstance(exc, SaysoError) else f"{type(exc).__name__}: {exc}"
            log.warning("%s", unavailable_sentence(label, f"could not be loaded ({reason.rstrip('.')})",
                                                   candidates[i + 1][0]))
    raise AssertionError("unreachable")
