"""Ollama: ``SAYSO_LLM=ollama`` (or chosen by ``auto`` when the server answers with the model).

Uses the official ``ollama`` client (``AsyncClient``): ``POST /api/chat`` streaming NDJSON, one
JSON object a line, the last with ``done: true``, ``done_reason``, token counts and durations
in nanoseconds. The decision comes as JSON text following a schema, which goes in ``format``
(no native tool calls: the agent never asks for them); ``keep_alive`` keeps the model loaded between turns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from sayso.config import Settings
from sayso.errors import ConfigError, LlmError
from sayso.llm import grammar
from sayso.llm.base import BaseLlm, Schema
from sayso.types import ChatMessage, LlmChunk

log = logging.getLogger(__name__)

KEEP_ALIVE = "30m"


def _message(msg: ChatMessage) -> dict[str, Any]:
    return {"role": msg.role, "content": msg.content}


class OllamaLlm(BaseLlm):
    """A streaming client for a (local or remote) Ollama server."""

    name = "ollama"

    def __init__(self, *, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        try:
            import ollama
        except ImportError as exc:
            raise ConfigError("The Ollama backend needs the package 'ollama', which is not installed.",
                              hint="Install it with: .venv/bin/pip install -e .") from exc
        super().__init__(settings=settings)
        self._ollama = ollama
        self.host = settings.ollama_host
        self.model = settings.ollama_model
        timeout = httpx.Timeout(settings.llm_timeout_s, connect=min(5.0, settings.llm_timeout_s))
        extra = {"transport": transport} if transport is not None else {}
        self._client = ollama.AsyncClient(host=self.host, timeout=timeout, **extra)

    async def models(self) -> list[str]:
        """Model names the server has (for the settings panel and ``auto``)."""
        try:
            listing = await self._client.list()
        except (ConnectionError, httpx.HTTPError, self._ollama.ResponseError) as exc:
            raise self.map_error(exc) from exc
        return [str(m.model) for m in listing.models if m.model]

    async def _chat_impl(self, messages: Sequence[ChatMessage], *, response_format: Schema | None,
                         max_tokens: int) -> AsyncIterator[LlmChunk]:
        options = {"num_predict": max_tokens,
                   "temperature": 0.0 if response_format is not None else 0.2}
        got_done = False
        try:
            stream = await self._client.chat(
                model=self.model,
                messages=[_message(m) for m in messages],
                format=grammar.json_schema(response_format),
                options=options,
                keep_alive=KEEP_ALIVE,
                stream=True,
            )
            async for part in stream:
                msg = part.message
                if part.done:
                    got_done = True
                    usage = {
                        "prompt_tokens": part.prompt_eval_count or 0,
                        "completion_tokens": part.eval_count or 0,
                        "total_duration_ms": (part.total_duration or 0) / 1e6,
                        "load_duration_ms": (part.load_duration or 0) / 1e6,
                        "prompt_ms": (part.prompt_eval_duration or 0) / 1e6,
                        "predicted_ms": (part.eval_duration or 0) / 1e6,
                    }
                    yield LlmChunk(text=msg.content or "", done=True,
                                   finish_reason=part.done_reason or "stop", usage=usage)
                elif msg.content:
                    yield LlmChunk(text=msg.content)
        except (ConnectionError, httpx.HTTPError, self._ollama.ResponseError) as exc:
            raise self.map_error(exc) from exc
        except (ValueError, AttributeError, TypeError) as exc:  # bad JSON, or JSON of the wrong shape
            raise LlmError(f"The Ollama server at {self.host} sent a malformed stream.",
                           code="llm.bad_response") from exc
        if not got_done:
            raise LlmError(f"The Ollama server at {self.host} ended the reply early.", code="llm.bad_response")

    def map_error(self, exc: Exception) -> LlmError:
        if isinstance(exc, self._ollama.ResponseError):
            if exc.status_code == 404:
                return LlmError(f"The Ollama server does not have the model '{self.model}'.",
                                code="llm.model_missing", hint=f"Run: ollama pull {self.model}")
            return LlmError(f"The Ollama server failed: {exc.error}.", code="llm.failed")
        if isinstance(exc, httpx.TimeoutException):
            return LlmError(f"The Ollama server at {self.host} did not answer in time.", code="llm.timeout")
        if isinstance(exc, ConnectionError | httpx.ConnectError):
            return LlmError(f"The Ollama server at {self.host} is not reachable.", code="llm.unreachable",
                            hint="Start it with 'ollama serve', or set SAYSO_LLM=embedded.")
        if isinstance(exc, json.JSONDecodeError):
            return LlmError(f"The Ollama server at {self.host} sent a malformed stream.", code="llm.bad_response")
        return LlmError(f"The connection to the Ollama server at {self.host} broke ({type(exc).__name__}).",
                        code="llm.bad_response")

    async def close(self) -> None:
        await self._client.close()
