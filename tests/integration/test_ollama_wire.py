"""The Ollama backend against a local server speaking Ollama's documented wire format.

THIS IS A FAKE SERVER, and the only one: no Ollama server can be installed here (no internet).
It follows the documented API (docs/api.md of ollama/ollama) exactly: ``POST /api/chat``
streams NDJSON (one JSON object a line, ``Content-Type: application/x-ndjson``, chunked), every
line has ``model``, ``created_at``, ``message`` and ``done``; the last line has ``done: true``,
``done_reason``, ``total_duration``/``load_duration``/``prompt_eval_duration``/``eval_duration``
in nanoseconds, ``prompt_eval_count`` and ``eval_count``; tool calls arrive whole in one message
with ``arguments`` as an object; errors are ``{"error": "..."}`` with HTTP 404 (model not found)
or 500. ``GET /api/tags`` lists models. The real ``ollama`` client talks to it over TCP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sayso.config import load_settings
from sayso.errors import LlmError
from sayso.llm.ollama import OllamaLlm
from sayso.llm.select import build_llm, probe_ollama
from sayso.types import ChatMessage

MODEL = "qwen2.5-coder:0.5b"
CREATED = "2026-01-01T00:00:00.000000Z"


class OllamaWire(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests: list[dict[str, Any]] = []  # noqa: RUF012 (shared by the test server's threads)
    mode = "text"

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, obj: dict[str, Any]) -> None:
        line = (json.dumps(obj) + "\n").encode()
        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            self._json(200, {"models": [{"name": MODEL, "model": MODEL, "modified_at": CREATED, "size": 397821319,
                                         "digest": "a" * 64, "details": {"format": "gguf", "family": "qwen2"}}]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        OllamaWire.requests.append(body)
        if self.path != "/api/chat":
            self._json(404, {"error": "not found"})
            return
        if body.get("model") != MODEL:
            self._json(404, {"error": f"model \"{body.get('model')}\" not found, try pulling it first"})
            return
        if self.mode == "500":
            self._json(500, {"error": "llama runner process has terminated: signal: killed"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for msg in self._messages():
            self._chunk({"model": MODEL, "created_at": CREATED, "message": msg, "done": False})
        if self.mode == "drop":
            self.wfile.flush()
            self.connection.shutdown(2)  # the server dies mid-reply: no last line, no end chunk
            return
        self._chunk({"model": MODEL, "created_at": CREATED, "message": {"role": "assistant", "content": ""},
                     "done": True, "done_reason": "stop", "total_duration": 812_000_000,
                     "load_duration": 12_000_000, "prompt_eval_count": 42, "prompt_eval_duration": 300_000_000,
                     "eval_count": 7, "eval_duration": 400_000_000})
        self.wfile.write(b"0\r\n\r\n")

    def _messages(self) -> Iterator[dict[str, Any]]:
        for word in ("Paris ", "is ", "the ", "capital."):
            yield {"role": "assistant", "content": word}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OllamaWire)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def mode() -> Iterator[Any]:
    def set_mode(m: str) -> None:
        OllamaWire.mode = m

    OllamaWire.requests.clear()
    yield set_mode
    OllamaWire.mode = "text"


def llm_for(host: str, model: str = MODEL) -> OllamaLlm:
    return OllamaLlm(settings=load_settings(ollama_host=host, ollama_model=model, llm_timeout_s=5))


async def test_text_streams_as_deltas_then_usage_in_milliseconds(server: str, mode: Any) -> None:
    llm = llm_for(server)
    chunks = [c async for c in llm.chat([ChatMessage("user", "capital of france?")], max_tokens=32)]
    await llm.close()
    assert "".join(c.text for c in chunks) == "Paris is the capital."
    assert [c.done for c in chunks] == [False] * 4 + [True]
    last = chunks[-1]
    assert last.finish_reason == "stop"
    assert last.usage["completion_tokens"] == 7 and last.usage["predicted_ms"] == 400.0
    sent = OllamaWire.requests[-1]
    assert sent["stream"] is True and sent["keep_alive"] == "30m" and sent["options"]["num_predict"] == 32


async def test_the_schema_goes_in_format_and_output_is_greedy(server: str, mode: Any) -> None:
    llm = llm_for(server)
    schema = {"type": "object", "properties": {"tool": {"type": "string"}}}
    chunks = [c async for c in llm.chat([ChatMessage("user", "open wikipedia")], response_format=schema)]
    await llm.close()
    assert "".join(c.text for c in chunks) == "Paris is the capital."
    sent = OllamaWire.requests[-1]
    assert "tools" not in sent or not sent["tools"]
    assert sent["format"] == schema and sent["options"]["temperature"] == 0.0


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("missing-model", "llm.model_missing", "ollama pull"),
        ("500", "llm.failed", "llama runner process has terminated"),
        ("drop", "llm.bad_response", "broke"),
        ("unreachable", "llm.unreachable", "not reachable"),
    ],
)
async def test_errors_are_one_clear_sentence(server: str, mode: Any, case: str, code: str, says: str) -> None:
    host, model = server, MODEL
    if case == "missing-model":
        model = "llama3:70b"
    elif case == "unreachable":
        host = "http://127.0.0.1:9"  # discard port: nothing listens
    else:
        mode(case)
    llm = llm_for(host, model)
    with pytest.raises(LlmError) as err:
        async for _ in llm.chat([ChatMessage("user", "hi")]):
            pass
    await llm.close()
    assert err.value.code == code
    assert says in err.value.one_line()


async def test_auto_picks_ollama_only_when_it_answers_with_the_model(server: str) -> None:
    ok, why = await probe_ollama(load_settings(ollama_host=server))
    assert ok and MODEL in why
    assert (await build_llm(load_settings(llm="auto", ollama_host=server))).name == "ollama"
    ok, why = await probe_ollama(load_settings(ollama_host=server, ollama_model="mistral"))
    assert not ok and "ollama pull mistral" in why
    gone = load_settings(llm="auto", ollama_host="http://127.0.0.1:9")
    assert (await build_llm(gone)).name == "embedded"  # constructed, not loaded
    llm = llm_for(server)
    assert await llm.models() == [MODEL]
    await llm.close()
