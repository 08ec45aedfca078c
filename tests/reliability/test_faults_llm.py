"""LLM faults: the endpoint down, slow, malformed, dropped; the embedded model missing or corrupt.

The Ollama endpoint here is A FAKE SERVER speaking Ollama's documented NDJSON wire format (the
same protocol as tests/integration/test_ollama_wire.py; no Ollama can be installed offline);
the real ``ollama`` client talks to it over TCP, and each fault is real on the wire: a closed
port, a first token 20 s late, a line that is not JSON, JSON of the wrong shape, a connection cut
mid-reply. The embedded faults use the real llama.cpp loader on a missing and a corrupt file.

In every case the user hears one sentence, fast-path browser commands keep working (real
Chromium), and once the fault is gone the next LLM turn succeeds.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sayso.agent.factory import build_components
from sayso.agent.turn import LLM_DOWN, NO_LLM
from sayso.config import load_settings
from sayso.llm.ollama import OllamaLlm
from sayso.testsite import TestSite

from .conftest import Tracked, assert_clean, settings_for, turn

pytestmark = pytest.mark.slow
MODEL = "qwen2.5-coder:0.5b"
CREATED = "2026-01-01T00:00:00.000000Z"
ANSWER = '{"tool": "answer", "args": {"text": "Paris is the capital of France."}}'


class FaultyOllama(BaseHTTPRequestHandler):
    """Ollama's /api/chat and /api/tags; ``mode`` picks the fault."""

    protocol_version = "HTTP/1.1"
    mode = "ok"
    stop = threading.Event()

    def log_message(self, *args: Any) -> None:
        pass

    def _chunk(self, raw: bytes) -> None:
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _line(self, obj: dict[str, Any]) -> None:
        self._chunk((json.dumps(obj) + "\n").encode())

    def do_GET(self) -> None:
        body = json.dumps({"models": [{"name": MODEL, "model": MODEL, "modified_at": CREATED}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        mode = FaultyOllama.mode
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if mode == "slow":
            self.wfile.flush()
            FaultyOllama.stop.wait(20.0)  # the first token comes 20 s late
        pieces = [ANSWER[i:i + 12] for i in range(0, len(ANSWER), 12)]
        for n, piece in enumerate(pieces):
            if mode == "malformed" and n == 2:
                self._chunk(b'{"model": "qwen", "message": {"content": "oops\n')  # not JSON
                break
            if mode == "badshape" and n == 2:
                self._line({"model": MODEL, "created_at": CREATED, "message": "not an object", "done": "maybe"})
                break
            if mode == "drop" and n == 2:
                self.connection.shutdown(2)  # the server dies mid-reply
                return
            self._line({"model": MODEL, "created_at": CREATED,
                        "message": {"role": "assistant", "content": piece}, "done": False})
        else:
            self._line({"model": MODEL, "created_at": CREATED, "message": {"role": "assistant", "content": ""},
                        "done": True, "done_reason": "stop", "total_duration": 9_000_000, "load_duration": 0,
                        "prompt_eval_count": 10, "prompt_eval_duration": 1_000_000, "eval_count": 9,
                        "eval_duration": 2_000_000})
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass


@pytest.fixture(scope="module")
def ollama() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FaultyOllama)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    FaultyOllama.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def make(assistant_factory, browser: Tracked, site: TestSite):  # type: ignore[no-untyped-def]
    async def build(host: str, timeout_s: float = 3.0):  # type: ignore[no-untyped-def]
        settings = settings_for(site, llm="ollama", ollama_host=host, llm_timeout_s=timeout_s)
        assert (await browser.do("navigate", url=site.url("/"))).ok
        return assistant_factory(settings=settings, llm=OllamaLlm(settings=settings), browser=browser.browser)

    return build


@pytest.mark.parametrize("fault", ["down", "slow", "malformed", "badshape", "drop"])
async def test_ollama_fault_one_sentence_fast_path_works_next_turn_succeeds(
        make, ollama: str, fault: str) -> None:  # type: ignore[no-untyped-def]
    host = "http://127.0.0.1:9" if fault == "down" else ollama  # port 9: nothing listens
    FaultyOllama.mode = fault
    try:
        assistant = await make(host)
        t0 = time.monotonic()
        seen = await turn(assistant, "what is the capital of france")
        waited = time.monotonic() - t0
        assert seen.reply == LLM_DOWN, seen.reply
        assert_clean(seen.reply)
        assert [e["message"] for e in seen.errors] == [LLM_DOWN]
        assert waited < 15.0, "a slow model does not hold the user for its 20 s"
        fast = await turn(assistant, "click on pricing")  # the LLM is still broken
        assert fast.actions_ok() == [True] and "Pricing" in fast.reply
    finally:
        FaultyOllama.mode = "ok"
    if fault != "down":  # the fault is gone: the very next LLM turn works
        again = await turn(assistant, "what is the capital of france")
        assert again.reply == "Paris is the capital of France."


@pytest.mark.parametrize("kind", ["missing", "corrupt", "truncated"])
async def test_embedded_model_missing_or_corrupt(assistant_factory, browser: Tracked, site: TestSite,
                                                 tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / f"{kind}.gguf"
    if kind == "corrupt":
        model.write_bytes(b"GGUF" + os.urandom(1_000_000))
    elif kind == "truncated":
        model.write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(64))
    settings = load_settings(llm="embedded", llm_model=str(model), data_dir=tmp_path / "data")
    comp = await build_components(settings, stt=False, tts=False)
    assert comp.llm is None and set(comp.problems) == {"llm"}
    problem = comp.problems["llm"]
    assert "\n" not in problem and "Traceback" not in problem and "gguf" in problem.lower()
    from sayso.ui.render import safe_message  # what the page's banner shows

    assert_clean(safe_message(problem))
    assert (await browser.do("navigate", url=site.url("/"))).ok
    assistant = assistant_factory(settings=settings_for(site), llm=comp.llm, browser=browser.browser)
    seen = await turn(assistant, "tell me a joke")
    assert seen.reply == NO_LLM
    assert (await turn(assistant, "click on about us")).actions_ok() == [True]
