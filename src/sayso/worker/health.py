"""`sayso doctor` rows for remote speech: does each configured Wyoming server answer, and does it
offer the service it is configured for (speech-to-text for SAYSO_STT, a voice for SAYSO_TTS)?"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

from sayso.config import Settings


def _endpoints(settings: Settings) -> list[tuple[str, str, str, bool]]:
    """(what, service, url, required) for each Wyoming server the settings point at."""
    out = []
    if settings.stt.startswith("wyoming://"):
        out.append(("speech-to-text server", "asr", settings.stt, True))
    if settings.tts.startswith("wyoming://"):
        out.append(("text-to-speech server", "tts", settings.tts, False))
    elif settings.tts == "chatterbox":
        out.append(("chatterbox worker", "tts", settings.chatterbox_url, False))
    return out


def _describe(url: str, wait_s: float) -> Any:
    from sayso.wyoming_client import WyomingClient, parse_url

    client = WyomingClient(parse_url(url), connect_timeout=wait_s, read_timeout=wait_s)
    return asyncio.run(client.describe())


def _offers(info: Any) -> str:
    parts = [f"speech-to-text {p.name} ({', '.join(m.name for m in p.models) or '-'})" for p in info.asr]
    parts += [f"text-to-speech {p.name} ({', '.join(v.name for v in p.voices[:3]) or '-'}"
              f"{', ...' if len(p.voices) > 3 else ''})" for p in info.tts]
    return "; ".join(parts) or "nothing"


def doctor_checks(settings: Settings) -> list[Any]:
    from sayso.checks import Check

    rows = []
    endpoints = _endpoints(settings)
    if endpoints and importlib.util.find_spec("wyoming") is None:
        return [Check("speech", "wyoming client", "missing", "the package 'wyoming' is not installed",
                      fix=".venv/bin/pip install -e '.[wyoming]'")]
    from sayso.wyoming_client import WyomingUnavailable

    for what, service, url, required in endpoints:
        bad = "missing" if required else "warn"
        instead = "" if required else "; the bundled Piper voice speaks instead"
        port = url.rsplit(":", 1)[-1]
        kind = "--stt faster-whisper" if service == "asr" else (
            "--tts chatterbox" if what.startswith("chatterbox") else "--tts piper")
        fix = f"sayso worker serve {kind} --port {port}   (on that machine)"
        try:
            info = _describe(url, wait_s=2.0)
        except WyomingUnavailable as exc:
            rows.append(Check("speech", what, bad, f"{url} {exc.why}{instead}", fix=fix,
                              required=required))
            continue
        offered = info.asr if service == "asr" else info.tts
        if not offered:
            need = "speech-to-text" if service == "asr" else "text-to-speech voice"
            rows.append(Check("speech", what, bad,
                              f"{url} offers no {need} (it offers {_offers(info)}){instead}",
                              fix=f"point it at a server that offers one, e.g. {fix}", required=required))
            continue
        rows.append(Check("speech", what, "ok", f"{url}: {_offers(info)}", required=required))
    return rows
