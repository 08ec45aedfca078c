"""OpenAI-compatible servers (vLLM, llama-server, LM Studio): ``SAYSO_LLM=openai``.

For users who serve a model on another machine. Streams ``POST {base}/chat/completions`` as
server-sent events and shares the request/chunk code with the embedded backend
(``sayso.llm.oai``). The API key is sent as a bearer token and never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence

import httpx

from sayso.config import Settings
from sayso.errors import ConfigError, LlmError
from sayso.llm.base import BaseLlm, Schema
from sayso.llm.oai import ChunkAssembler, build_request
from sayso.types import ChatMessage, LlmChunk

log = logging.getLogger(__name__)


class OpenAiLlm(BaseLlm):
    """A chat-completions client for any OpenAI-compatible server."""

    name = "openai"

    def __init__(self, *, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not settings.openai_base_url:
            raise ConfigError(
                "SAYSO_LLM=openai needs the server's address.",
                hint="Set SAYSO_OPENAI_BASE_URL, e.g. http://host:8000/v1.",
            )
        super().__init__(settings=settings)
        self.base_url = settings.openai_base_url
        self.model = settings.openai_model
        headers = {"Accept": "text/event-stream"}
        key = settings.openai_api_key.get_secret_value()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        timeout = httpx.Timeout(settings.llm_timeout_s, connect=min(5.0, settings.llm_timeout_s))
        self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout,
                                         transport=transport)

    async def models(self) -> list[str]:
        """Model ids the server offers (for the settings panel)."""
        try:
            resp = await self._client.get("/models")
            resp.raise_for_status()
            return [str(m.get("id", "")) for m in resp.json().get("data", [])]
        except (httpx.HTTPError, ValueError) as exc:
            raise LlmError(f"The OpenAI-compatible server at {self.base_url} did not list its models ({exc}).",
                           code="llm.unreachable") from exc

    async def _chat_impl(self, messages: Sequence[ChatMessage], *, response_format: Schema | None,
                         max_tokens: int) -> AsyncIterator[LlmChunk]:
        req = build_request(messages, response_format=response_format,
                            max_tokens=max_tokens, model=self.model)
        asm = ChunkAssembler()
        started = ended = False
        try:
            async with self._client.stream("POST", "/chat/completions", json=req) as resp:
                if resp.status_code != 200:
                    body = (await resp.aread()).decode("utf-8", "replace")
                    raise _http_error(resp.status_code, body, self.model)
                started = True
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        ended = True
                        break
                    try:
                        data = json.loads(payload)
                    except json.JSONDecodeError as exc:
                        raise LlmError("The LLM server sent a malformed stream.", code="llm.bad_response") from exc
                    for chunk in asm.feed(data):
                        yield chunk
        except httpx.TimeoutException as exc:
            raise LlmError(f"The LLM server at {self.base_url} did not answer in time.", code="llm.timeout") from exc
        except httpx.HTTPError as exc:
            if started:  # it answered, then the connection broke (server killed, restarted, network)
                raise self._interrupted(type(exc).__name__) from exc
            raise LlmError(f"The LLM server at {self.base_url} could not be reached ({type(exc).__name__}).",
                           code="llm.unreachable", hint="Check SAYSO_OPENAI_BASE_URL and that the server runs.") from exc
        if not ended and not asm.finish_reason:  # closed cleanly, but before the reply was complete
            raise self._interrupted("closed")
        yield asm.finish()

    def _interrupted(self, why: str) -> LlmError:
        log.warning("the LLM stream from %s broke off (%s)", self.base_url, why)
        return LlmError(f"The LLM server at {self.base_url} stopped in the middle of a reply.",
                        code="llm.interrupted", hint="Check that the server is still running.")

    async def close(self) -> None:
        await self._client.aclose()


def _http_error(status: int, body: str, model: str) -> LlmError:
    try:
        err = json.loads(body).get("error", body)
        detail = err.get("message", str(err)) if isinstance(err, dict) else str(err)
    except (ValueError, AttributeError):
        detail = body[:200]
    if status in (401, 403):
        return LlmError("The LLM server refused the API key.", code="llm.auth",
                        hint="Check SAYSO_OPENAI_API_KEY.")
    if status == 404:
        return LlmError(f"The LLM server does not have the model '{model}' ({detail}).", code="llm.model_missing",
                        hint="Check SAYSO_OPENAI_MODEL.")
    return LlmError(f"The LLM server failed with HTTP {status}: {detail}.", code="llm.failed")
