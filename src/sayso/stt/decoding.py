"""Guards for decoders that see short windows: a token budget and the immediate-repeat cut.

A model given a short command and a short window sometimes loops ("go to go to go to ...") or
runs on past the speech. Two cheap guards, used by the Moonshine backend and the short-window
Whisper path:

* :func:`token_cap` - at most ``base + per_s`` tokens per second of audio;
* :func:`cut_repeat` - the sequence is cut where a phrase is immediately repeated (a phrase of
  2+ tokens said twice in a row, or one token three times), keeping the first occurrence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MAX_PHRASE = 8  # longest repeated phrase (tokens) looked for


def token_cap(duration_s: float, *, per_s: float, base: int = 0, floor: int = 4) -> int:
    """The most tokens a transcript of ``duration_s`` seconds may take."""
    return max(floor, base + math.ceil(per_s * max(0.0, duration_s)))


def repeat_at_end(tokens: Sequence[int]) -> int:
    """Length to keep if the sequence now ends in an immediate repeat, else ``len(tokens)``."""
    n = len(tokens)
    if n >= 3 and tokens[-1] == tokens[-2] == tokens[-3]:
        return n - 2
    for size in range(2, min(MAX_PHRASE, n // 2) + 1):
        if list(tokens[n - size:]) == list(tokens[n - 2 * size:n - size]):
            return n - size
    return n


def cut_repeat(tokens: Sequence[int]) -> list[int]:
    """``tokens`` up to the first immediate repeat (the repeated phrase kept once)."""
    out: list[int] = []
    for tok in tokens:
        out.append(tok)
        keep = repeat_at_end(out)
        if keep < len(out):
            return out[:keep]
    return out
