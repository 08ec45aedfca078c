"""Backends by kind and name, imported lazily: ``build("stt", settings)``.

Heavy libraries are imported only inside their backend module, so choosing Piper never imports
torch. A backend whose extra is not installed raises ConfigError naming the install command.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from sayso.config import Settings
from sayso.errors import ConfigError

log = logging.getLogger(__name__)

# kind -> name -> "module:factory"; the factory is called as factory(settings=..., **kwargs)
BACKENDS: dict[str, dict[str, str]] = {
    "stt": {
        "faster-whisper": "sayso.stt.faster_whisper:FasterWhisperStt",
        "moonshine": "sayso.stt.moonshine:MoonshineStt",
        "transformers": "sayso.stt.transformers_whisper:TransformersWhisperStt",
        "wyoming": "sayso.stt.wyoming:WyomingStt",
    },
    "tts": {
        "piper": "sayso.tts.piper:PiperTts",
        "espeak": "sayso.tts.espeak:EspeakTts",
        "chatterbox": "sayso.tts.chatterbox:ChatterboxTts",
        "wyoming": "sayso.tts.wyoming:WyomingTts",
    },
    "llm": {
        "embedded": "sayso.llm.llamacpp:LlamaCppLlm",
        "ollama": "sayso.llm.ollama:OllamaLlm",
        "openai": "sayso.llm.openai_compat:OpenAiLlm",
    },
    "vad": {
        "silero": "sayso.audio.segmenter:Segmenter",
    },
    "browser": {  # local Chromium/Firefox, or a Grid when browser_remote_url is set
        "chromium": "sayso.browser.session:SeleniumBrowser",
        "firefox": "sayso.browser.session:SeleniumBrowser",
    },
}

# a missing module in these names the extra that provides it
EXTRAS = {
    "torch": "transformers",
    "transformers": "transformers",
    "wyoming": "wyoming",
    "matplotlib": "bench",
}


def backend_name(kind: str, value: str) -> str:
    """Map a configured value (``wyoming://host:port`` included) to a registry name."""
    return "wyoming" if value.startswith("wyoming://") else value


def resolve(kind: str, name: str) -> Any:
    """Import and return the factory for ``kind``/``name``."""
    try:
        target = BACKENDS[kind][backend_name(kind, name)]
    except KeyError:
        known = ", ".join(sorted(BACKENDS.get(kind, {}))) or "none"
        raise ConfigError(f"Unknown {kind} backend '{name}': choose one of {known}.") from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing == "sayso" or (exc.name or "").startswith("sayso."):
            raise ConfigError(
                f"The {kind} backend '{name}' is not part of this version of sayso.",
                code="stage.unavailable",
            ) from exc
        extra = EXTRAS.get(missing)
        hint = f"pip install 'sayso[{extra}]'" if extra else f"pip install {missing}"
        raise ConfigError(
            f"The {kind} backend '{name}' needs the package '{missing}', which is not installed.",
            hint=f"Install it with: {hint}",
        ) from exc
    return getattr(module, attr)


def build(kind: str, settings: Settings, name: str | None = None, **kwargs: Any) -> Any:
    """Construct the configured backend of ``kind`` (or the one named)."""
    chosen = name or str(getattr(settings, kind))
    factory = resolve(kind, chosen)
    log.info("%s backend: %s", kind, chosen)
    return factory(settings=settings, **kwargs)
