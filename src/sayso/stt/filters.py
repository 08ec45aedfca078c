"""Guards shared by the Whisper backends: no speech in, no text out.

Whisper invents text on silence and noise ("Thank you.", "Thanks for watching!"). Two guards:

* :func:`has_speech` - audio goes to Whisper only when Silero VAD hears enough speech in it
  (an utterance from the segmenter already carries ``speech_ms``; a whole file is checked).
* :func:`is_hallucination` - a transcript made only of known hallucination phrases is dropped
  when the VAD saw little speech or Whisper itself thought there was none.

The agent should also look at ``Transcript.no_speech_prob`` / ``avg_logprob`` (see
:func:`doubtful`) and ask the user to repeat instead of acting on a doubtful transcript.
"""

from __future__ import annotations

import re

import numpy as np

from sayso.types import SAMPLE_RATE, Utterance

HALLUCINATIONS = frozenset(
    {
        "thank you", "thank you very much", "thanks", "thanks for watching",
        "thank you for watching", "thank you so much for watching", "thanks for listening",
        "please subscribe", "subscribe", "like and subscribe", "bye", "bye bye", "goodbye",
        "you", "so", "oh", "uh", "um", "hmm", "huh", "the end", "music", "applause",
        "silence",
    }
)
_PUNCT = re.compile(r"[^\w\s']+")
_BRACKETED = re.compile(r"^[\[(*♪].*[\])*♪]$")

# below this much VAD speech a "thank you" is more likely invented than said (a real one,
# spoken by Piper, measured 416 ms)
LITTLE_SPEECH_MS = 300.0
# beyond these, a transcript is doubtful: ask again rather than act
DOUBT_NO_SPEECH = 0.6
DOUBT_LOGPROB = -1.0


def normalise(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def is_hallucination(text: str, *, speech_ms: float, no_speech_prob: float) -> bool:
    """True when ``text`` should be dropped as something Whisper made up."""
    stripped = text.strip()
    if not stripped:
        return False
    if _BRACKETED.match(stripped):  # "[Music]", "(silence)", "♪ ... ♪"
        return True
    norm = normalise(stripped)
    if not norm:
        return True  # punctuation only
    if norm not in HALLUCINATIONS and not all(part in HALLUCINATIONS for part in _sentences(norm, stripped)):
        return False
    return speech_ms < LITTLE_SPEECH_MS or no_speech_prob >= DOUBT_NO_SPEECH


def _sentences(norm: str, raw: str) -> list[str]:
    parts = [normalise(p) for p in re.split(r"[.!?]+", raw) if normalise(p)]
    return parts or [norm]


def doubtful(no_speech_prob: float | None, avg_logprob: float | None) -> bool:
    """Whisper's own doubt: probably no speech, or a low-confidence guess (no doubt when the
    backend gave no confidence)."""
    if no_speech_prob is None or avg_logprob is None:
        return False
    return no_speech_prob >= DOUBT_NO_SPEECH and avg_logprob <= DOUBT_LOGPROB / 2 or avg_logprob <= DOUBT_LOGPROB


def speech_ms_of(utt: Utterance, *, threshold: float) -> float:
    """The utterance's VAD speech: as the segmenter measured it, or measured now (whole files)."""
    if utt.speech_ms > 0:
        return utt.speech_ms
    from sayso.audio.vad import speech_ms

    audio = np.asarray(utt.audio.samples, dtype=np.float32)
    if utt.audio.rate != SAMPLE_RATE or audio.ndim != 1:
        from sayso.audio.convert import to_16k_mono

        audio = to_16k_mono(utt.audio).samples
    return speech_ms(audio, threshold=threshold)


def has_speech(speech: float, *, min_speech_ms: float) -> bool:
    return speech >= max(min_speech_ms, 1.0)
