"""``SAYSO_TTS=chatterbox``: speak through the Chatterbox worker (a GPU voice in its own env).

Chatterbox pins torch 2.6, numpy<2 and its own gradio, so it never runs inside sayso's process:
``sayso worker install chatterbox`` builds its environment and
``sayso worker serve --tts chatterbox`` runs it as a Wyoming server at ``chatterbox_url``. This
backend is the Wyoming client pointed there; the fallback adapter (``build_tts``) lets Piper speak
while the worker is down.
"""

from __future__ import annotations

from sayso.config import Settings
from sayso.tts.wyoming import WyomingTts


class ChatterboxTts(WyomingTts):
    name = "chatterbox"

    def __init__(self, *, settings: Settings, voice: str | None = None,
                 rate: float | None = None) -> None:
        super().__init__(settings=settings, url=settings.chatterbox_url, voice=voice, rate=rate,
                         label="Chatterbox worker",
                         start_hint="sayso worker install chatterbox, then sayso worker serve "
                                    "--tts chatterbox")
        self.sample_rate = 24_000
