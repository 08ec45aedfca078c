"""tts stage: Piper (default), espeak-ng (fallback), sentence streaming.

Public helpers, imported lazily (``from sayso.tts import speak_stream, build_tts``):

* ``build_tts(settings)`` - the configured voice; Piper falls back to espeak-ng, logged.
* ``speak_stream(tts, text_deltas)`` - async ``(sentence, AudioChunk)`` pairs from streamed text.
* ``split_sentences(deltas)`` / ``SentenceSplitter`` - the streaming sentence splitter.
* ``speakable(text)`` - markdown, URLs, numbers and units rewritten for speech.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "build_tts": "sayso.tts.factory",
    "speak_stream": "sayso.tts.stream",
    "iterate_in_thread": "sayso.tts.stream",
    "split_sentences": "sayso.tts.sentences",
    "SentenceSplitter": "sayso.tts.sentences",
    "speakable": "sayso.tts.speakable",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sayso.tts' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
