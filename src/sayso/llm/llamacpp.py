"""Embedded LLM: llama.cpp's server running in-process through ``xllamacpp``.

The default backend when no Ollama server answers. It loads a GGUF (the bundled
Qwen2.5-Coder-0.5B, assembled once by ``sayso.llm.models``, or ``SAYSO_LLM_MODEL``) and answers
through llama.cpp's OpenAI-shaped ``handle_chat_completions``: the GGUF's chat template, JSON
schema constrained output, or llguidance grammars (a tool call or plain text, ``sayso.llm.grammar``), and
prompt caching (one slot, so the fixed prefix
of the agent's prompt is computed once and reused).

xllamacpp also opens llama.cpp's HTTP listener; it is locked down here: loopback only, a random
port, a random API key nobody knows, no CORS, no web UI, no metrics/props/slots endpoints.

``OMP_WAIT_POLICY=PASSIVE`` is set before the library loads: without it, decoding fell from
~18 tok/s to 0.3 tok/s when STT, TTS and the browser shared the 2 cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sayso.config import Settings
from sayso.errors import ConfigError, LlmError
from sayso.llm import models
from sayso.llm.base import BaseLlm, Schema
from sayso.llm.oai import ChunkAssembler, build_request
from sayso.types import ChatMessage, LlmChunk

log = logging.getLogger(__name__)

_END = object()
SLOTS = 2
MIN_PROMPT_TOKENS_PER_S = 10.0
# llama.cpp's server also keeps evicted prompt states in host RAM (default up to 8 GiB): one page
# summary after the decision prompt grew the process by ~240 MiB (scripts/measure_memory.py). The
# two slots already keep the agent's decision prefix cached, so that cache buys nothing here.
PROMPT_RAM_CACHE_MIB = 0


class LlamaCppLlm(BaseLlm):
    """The embedded llama.cpp backend (``SAYSO_LLM=embedded``). Load once, share across sessions."""

    name = "embedded"

    def __init__(self, *, settings: Settings) -> None:
        super().__init__(settings=settings)
        self._server: Any = None
        self._load_lock = threading.Lock()
        self.model_path = ""
        self.model_name = ""
        self.load_ms = 0.0

    # loading -----------------------------------------------------------------------------
    def _load(self) -> Any:
        with self._load_lock:
            if self._server is not None:
                return self._server
            path = models.resolve_model(self.settings)
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before the library loads
            try:
                import xllamacpp
            except ImportError as exc:
                raise ConfigError(
                    "The embedded LLM needs the package 'xllamacpp', which is not installed.",
                    hint="Install it with: .venv/bin/pip install -e .",
                ) from exc
            s = self.settings
            params = xllamacpp.CommonParams()
            params.model.path = str(path)
            # two slots of llm_context tokens each: the agent's decision prefix stays cached in one
            # while a page summary (or a second session) uses the other (slots are picked by
            # longest common prefix)
            params.n_ctx = s.llm_context * SLOTS
            params.n_parallel = SLOTS
            params.n_predict = s.llm_max_tokens
            params.cpuparams.n_threads = s.llm_threads
            params.cpuparams_batch.n_threads = s.llm_threads
            params.use_jinja = True  # the GGUF's own chat template, tool calls parsed
            params.cache_ram_mib = PROMPT_RAM_CACHE_MIB
            params.warmup = True
            params.verbosity = -1  # llama.cpp logs errors only
            # the in-process HTTP listener: loopback, random port, secret key, no CORS, no UI
            params.hostnames = ["127.0.0.1"]
            params.port = 0
            params.api_keys = [secrets.token_urlsafe(24)]
            params.cors_origins = ""
            params.ui = False
            params.endpoint_metrics = False
            params.endpoint_props = False
            params.endpoint_slots = False
            t0 = time.monotonic()
            try:
                server = xllamacpp.Server(params)
            except Exception as exc:  # llama.cpp says only "Failed to init server"
                raise LlmError(
                    f"The embedded LLM could not load {path.name} ({exc}).",
                    code="llm.load_failed",
                    hint="Check the file is a complete GGUF model and that there is enough memory.",
                ) from exc
            self.load_ms = (time.monotonic() - t0) * 1000
            self.model_path = str(path)
            self.model_name = models.describe(path)
            log.info("embedded LLM loaded: %s in %.0f ms (%d threads, ctx %d)",
                     self.model_name, self.load_ms, s.llm_threads, s.llm_context)
            self._server = server
            return server

    async def _load_impl(self) -> None:
        await asyncio.to_thread(self._load)

    def prompt_allowance_s(self, messages: Sequence[ChatMessage]) -> float:
        """The first chunk waits for the whole prompt to be read: allow for a slow (contended)
        CPU reading ~10 tokens a second."""
        prompt_tokens = sum(len(m.content) for m in messages) // 4 + 5 * len(messages)
        return prompt_tokens / MIN_PROMPT_TOKENS_PER_S

    def map_error(self, exc: Exception) -> LlmError:
        return LlmError(f"The embedded LLM refused the request: {exc}.", code="llm.failed")

    # chat --------------------------------------------------------------------------------
    async def _chat_impl(self, messages: Sequence[ChatMessage], *, response_format: Schema | None,
                         max_tokens: int) -> AsyncIterator[LlmChunk]:
        server = self._server or await asyncio.to_thread(self._load)
        req = build_request(messages, response_format=response_format, max_tokens=max_tokens, grammars=True)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def put(item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def on_chunk(data: Any) -> bool:
            put(data)
            return stop.is_set()  # True stops generation (cancellation)

        def run() -> None:
            try:
                server.handle_chat_completions(req, on_chunk)
            except Exception as exc:  # bad request, or the server failed
                put(exc)
            finally:
                put(_END)

        threading.Thread(target=run, name="llamacpp-chat", daemon=True).start()
        asm = ChunkAssembler()
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, Exception):
                    raise self.map_error(item) from item
                for chunk in asm.feed(item):
                    yield chunk
            yield asm.finish()
        finally:
            stop.set()  # on cancel/close: the next token callback ends generation

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(_drop, server)


def _drop(server: Any) -> None:
    del server  # the destructor stops llama.cpp's loop and joins its thread
