"""Build the configured voice, with its fallbacks (one policy: :mod:`sayso.tts.fallback`).

* ``piper``: the Piper voice; when it cannot load, espeak-ng (load time, logged).
* ``espeak``: espeak-ng.
* ``wyoming://host:port`` and ``chatterbox`` (a Wyoming worker): the remote voice, and while it
  cannot speak, the bundled Piper voice (per request, retried after ``wyoming_retry_s``).

``doctor_checks`` reports on both local voices for ``sayso doctor``.

``fallback=False`` builds a remote voice alone, for ``sayso say``: the user asked for that voice
and a file quietly spoken by another would be wrong (it fails with one sentence instead).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sayso.config import Settings
from sayso.errors import SaysoError
from sayso.tts.base import Tts
from sayso.tts.fallback import FallbackTts, Voice, first_loadable

log = logging.getLogger(__name__)

LOCAL = ("piper", "espeak")


def _load_piper(settings: Settings, *, voice: str | None = None, rate: float | None = None) -> Any:
    from sayso.tts.piper import PiperTts

    tts = PiperTts(settings=settings, voice=voice, rate=rate)
    tts.load()  # load now, so a broken voice is found at start, not at the first reply
    return tts


def _espeak(settings: Settings, *, rate: float | None = None) -> Any:
    from sayso.tts.espeak import EspeakTts

    return EspeakTts(settings=settings, rate=rate)


def piper_problem(settings: Settings) -> str | None:
    """Why Piper cannot speak with these settings (None when it can)."""
    try:
        _load_piper(settings)
    except SaysoError as exc:
        return exc.message
    except Exception as exc:  # any import or runtime failure of the optional stack
        return f"{type(exc).__name__}: {exc}"
    return None


def piper_label(settings: Settings) -> str:
    return "The Piper voice " + settings.tts_voice if settings.tts_voice else "The bundled Piper voice"


def build_tts(settings: Settings, *, voice: str | None = None, rate: float | None = None,
              fallback: bool = True) -> Tts:
    """The configured voice (see the module doc). ``voice``/``rate`` override the settings."""
    name = str(settings.tts)
    if voice is not None:  # a voice the user named must load: no substitute
        return _load_piper(settings, voice=voice, rate=rate)  # type: ignore[no-any-return]
    if name == "piper":
        return first_loadable([
            (piper_label(settings), lambda: _load_piper(settings, voice=voice, rate=rate)),
            ("espeak-ng", lambda: _espeak(settings, rate=rate)),
        ])
    if name == "espeak":
        return _espeak(settings, rate=rate)
    from sayso.registry import build

    remote = build("tts", settings, rate=rate)  # ConfigError for a bad address or rate: the user's
    if not fallback:
        return remote  # type: ignore[no-any-return]
    local = settings.model_copy(update={"tts": "piper"})

    async def built() -> Tts:
        return remote  # type: ignore[no-any-return]

    async def piper() -> Tts:
        tts = await asyncio.to_thread(build_tts, local, rate=rate)
        await tts.warmup()
        return tts

    return FallbackTts([Voice(remote.label, built), Voice(piper_label(settings), piper)],
                       retry_s=settings.wyoming_retry_s)


def doctor_checks(settings: Settings) -> list[Any]:
    """`sayso doctor`: can each voice load, and which one will speak."""
    from sayso.checks import Check
    from sayso.tts.espeak import version

    checks = []
    try:
        checks.append(Check("tts", "espeak-ng (in-process fallback)", "ok", f"version {version()}",
                            required=False))
        espeak_ok = True
    except Exception as exc:
        espeak_ok = False
        checks.append(Check("tts", "espeak-ng (in-process fallback)", "warn", str(exc),
                            fix=".venv/bin/pip install espeakng-loader==0.2.4", required=False))
    if settings.tts == "piper":
        problem = piper_problem(settings)
        if problem is None:
            checks.append(Check("tts", "piper voice", "ok", "loads; Piper speaks"))
        else:
            checks.append(Check(
                "tts", "piper voice", "warn" if espeak_ok else "missing",
                f"{problem}; {'espeak-ng speaks instead' if espeak_ok else 'no voice can speak'}",
                fix="unset SAYSO_TTS_VOICE or reinstall: .venv/bin/pip install -e .",
                required=not espeak_ok))
    return checks
