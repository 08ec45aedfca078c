"""Choosing the LLM backend: ``SAYSO_LLM=auto|embedded|ollama|openai``.

``auto`` uses Ollama when the server answers within ``PROBE_TIMEOUT_S`` and has the configured
model, else the embedded llama.cpp. The choice and the reason are logged.
"""

from __future__ import annotations

import logging

import httpx

from sayso import registry
from sayso.config import Settings
from sayso.llm.base import Llm

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.5


async def probe_ollama(settings: Settings, *, timeout_s: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """(usable, why): does Ollama answer at the configured host with the configured model?"""
    host, want = settings.ollama_host, settings.ollama_model
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            resp = await client.get(f"{host}/api/tags")
            resp.raise_for_status()
            names = {str(m.get("name") or m.get("model") or "") for m in resp.json().get("models", [])}
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"no Ollama server answered at {host} ({type(exc).__name__})"
    candidates = {want, f"{want}:latest"} if ":" not in want else {want}
    if names & candidates:
        return True, f"Ollama at {host} has {want}"
    return False, f"Ollama at {host} answers but lacks {want} (ollama pull {want})"


async def choose_llm_name(settings: Settings) -> str:
    if settings.llm != "auto":
        log.info("LLM backend: %s (configured)", settings.llm)
        return settings.llm
    ok, why = await probe_ollama(settings)
    name = "ollama" if ok else "embedded"
    log.info("LLM backend: %s (auto: %s)", name, why)
    return name


async def build_llm(settings: Settings) -> Llm:
    """Construct (not load) the LLM the settings ask for."""
    name = await choose_llm_name(settings)
    return registry.build("llm", settings, name=name)
