"""`sayso doctor` rows for remote speech: is each configured Wyoming server answering?"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

from sayso.config import Settings


def _endpoints(settings: Settings) -> list[tuple[str, str, bool]]:
    """(what, url, required) for each Wyoming server the settings point at."""
    out = []
    if settings.stt.startswith("wyoming://"):
        out.append(("speech-to-text server", settings.stt, True))
    if settings.tts.startswith("wyoming://"):
        out.append(("text-to-speech server", settings.tts, False))
    elif settings.tts == "chatterbox":
        out.append(("chatterbox worker", settings.chatterbox_url, False))
    return out


async def _describe(url: str, wait_s: float) -> Any:
    from wyoming.client import AsyncTcpClient
    from wyoming.info import Describe, Info

    from sayso.worker.protocol import parse_url

    addr = parse_url(url)
    async with AsyncTcpClient(addr.host, addr.port, connect_timeout=wait_s, read_timeout=wait_s) as client:
        await client.write_event(Describe().event())
        while True:
            event = await client.read_event()
            if event is None:
                raise ConnectionError("closed the connection")
            if Info.is_type(event.type):
                return Info.from_event(event)


def doctor_checks(settings: Settings) -> list[Any]:
    from sayso.doctor import Check

    rows = []
    endpoints = _endpoints(settings)
    if endpoints and importlib.util.find_spec("wyoming") is None:
        return [Check("speech", "wyoming client", "missing", "the package 'wyoming' is not installed",
                      fix=".venv/bin/pip install -e '.[wyoming]'")]
    for what, url, required in endpoints:
        try:
            info = asyncio.run(_describe(url, wait_s=2.0))
        except Exception as exc:
            why = "connection refused" if isinstance(exc, ConnectionRefusedError) else type(exc).__name__
            detail = f"{url} not answering ({why})"
            if not required:
                detail += "; the bundled Piper voice speaks instead"
            port = url.rsplit(":", 1)[-1]
            kind = "--stt faster-whisper" if what.startswith("speech-to-text") else (
                "--tts chatterbox" if what.startswith("chatterbox") else "--tts piper")
            rows.append(Check("speech", what, "missing" if required else "warn", detail,
                              fix=f"sayso worker serve {kind} --port {port}   (on that machine)",
                              required=required))
            continue
        offers = [p.name for p in info.asr] + [p.name for p in info.tts]
        rows.append(Check("speech", what, "ok", f"{url}: {', '.join(offers) or 'nothing offered'}",
                          required=required))
    return rows
