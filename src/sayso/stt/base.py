"""The speech-to-text stage's interface."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sayso.types import Transcript, Utterance


@runtime_checkable
class Stt(Protocol):
    """Turns one utterance (16 kHz mono float32) into text. Blocking work runs in a thread."""

    name: str

    async def transcribe(self, utt: Utterance) -> Transcript: ...

    async def warmup(self) -> None:
        """Load the model (and run one tiny inference) so the first turn is not slow."""
        ...

    async def close(self) -> None: ...
