"""Build the configured voice, falling back from Piper to espeak-ng when Piper cannot load."""

from __future__ import annotations

import logging
from typing import Any

from sayso.errors import SaysoError

log = logging.getLogger(__name__)


def _load_piper(settings: Any, **kwargs: Any) -> Any:
    from sayso.tts.piper import PiperTts

    tts = PiperTts(settings=settings, **kwargs)
    tts._load()  # load now, so a broken voice is found at start, not at the first reply
    return tts


def piper_problem(settings: Any) -> str | None:
    """Why Piper cannot speak with these settings (None when it can)."""
    try:
        _load_piper(settings)
    except SaysoError as exc:
        return exc.message
    except Exception as exc:  # any import or runtime failure of the optional stack
        return f"{type(exc).__name__}: {exc}"
    return None


def build_tts(settings: Any, **kwargs: Any) -> Any:
    """The configured TTS; when ``tts=piper`` fails to load, espeak-ng, with a log line saying why.

    ``kwargs`` (``voice``, ``rate``) go to the Piper/espeak constructors. Other backends
    (chatterbox, wyoming://) are built through the registry as they are.
    """
    name = str(settings.tts)
    if name == "piper":
        try:
            return _load_piper(settings, **kwargs)
        except Exception as exc:
            reason = exc.message if isinstance(exc, SaysoError) else f"{type(exc).__name__}: {exc}"
            log.warning("Piper could not be loaded (%s); speaking with espeak-ng instead", reason)
            from sayso.tts.espeak import EspeakTts

            return EspeakTts(settings=settings, rate=kwargs.get("rate"))
    if name == "espeak":
        from sayso.tts.espeak import EspeakTts

        return EspeakTts(settings=settings, **{k: v for k, v in kwargs.items() if k in ("rate",)})
    from sayso.registry import build

    return build("tts", settings, **kwargs)
