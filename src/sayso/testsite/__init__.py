"""A small local web site for the browser tests and the benchmark, served on 127.0.0.1.

``with TestSite() as site: site.url("/news.html")``. Static pages live in ``pages/`` (package
data); a few routes are dynamic:

- ``/search?q=WORDS``: a results page with five numbered results about WORDS;
- ``/slow``: sends half a page, then never finishes (until the server stops);
- ``/media/tone.wav``: ten seconds of a quiet tone, for the ``<video>`` page;
- ``/links?n=N``: a page with N links (at most 20,000), for the cost of a huge page.

One thread per request (``ThreadingHTTPServer``), daemon threads, nothing logged per request.
"""

from __future__ import annotations

import html
import io
import logging
import math
import struct
import threading
import wave
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

_TYPES = {".html": "text/html; charset=utf-8", ".wav": "audio/wav"}
SLOW_MAX_S = 300.0  # even a forgotten /slow request ends eventually


@lru_cache(maxsize=64)
def _page(name: str) -> bytes | None:
    if "/" in name or name.startswith("."):
        return None
    ref = resources.files(__package__).joinpath("pages", name)
    return ref.read_bytes() if ref.is_file() else None


@lru_cache(maxsize=1)
def _tone_wav(seconds: float = 10.0, rate: int = 8000) -> bytes:
    frames = b"".join(
        struct.pack("<h", int(600 * math.sin(2 * math.pi * 220 * i / rate)))
        for i in range(int(seconds * rate))
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def results_page(query: str) -> bytes:
    """Five results about ``query``, as a search engine would list them."""
    q = html.escape(query or "nothing")
    items = "\n".join(
        f'<li class="result"><h3><a href="/article.html?n={i}">Result {i}: {word} about {q}</a></h3>'
        f"<p>A short snippet for result {i}, which is about {q}.</p></li>"
        for i, word in enumerate(("First", "Second", "Third", "Fourth", "Fifth"), start=1)
    )
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{q} - Search</title>'
        '</head><body><nav><a href="/">Home</a> <a href="/news.html">News</a></nav><main>'
        f'<h1>Results for {q}</h1><form action="/search"><input name="q" type="search" '
        f'value="{q}"><button>Search</button></form><ol id="results">{items}</ol></main></body></html>'
    )
    return body.encode()


MAX_LINKS = 20_000


def links_page(n: int) -> bytes:
    """A page with ``n`` headline links in a list (a huge news front page)."""
    n = max(0, min(n, MAX_LINKS))
    items = "".join(f'<li><a href="/article.html?n={i}">Headline {i}: a story about topic {i % 97}</a></li>'
                    for i in range(1, n + 1))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{n} links</title></head>'
            f'<body><nav><a href="/">Home</a> <a href="/pricing.html">Pricing</a></nav><main><h1>{n} links</h1>'
            f"<ul>{items}</ul></main></body></html>").encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # quiet: tests and the benchmark read events, not access logs

    def _send(self, status: int, body: bytes, ctype: str = _TYPES[".html"]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/search":
            query = parse_qs(parts.query).get("q", [""])[0][:200]
            self._send(200, results_page(query))
        elif path == "/links":
            raw = parse_qs(parts.query).get("n", ["100"])[0]
            self._send(200, links_page(int(raw) if raw.isdigit() else 100))
        elif path == "/slow":
            self._slow()
        elif path == "/media/tone.wav":
            self._send(200, _tone_wav(), _TYPES[".wav"])
        else:
            name = "index.html" if path in ("", "/") else path.lstrip("/")
            body = _page(name)
            if body is None:
                self._send(404, b"<!doctype html><title>Not found</title><h1>Not found</h1>")
            else:
                self._send(200, body)

    def _slow(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", _TYPES[".html"])
        self.end_headers()
        try:
            self.wfile.write(b"<!doctype html><html><head><title>Slow page</title></head><body>"
                             b"<h1>Still loading</h1>")
            self.wfile.flush()
            self.server.stopping.wait(SLOW_MAX_S)
        except OSError:
            pass  # the browser gave up: fine
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int]) -> None:
        super().__init__(addr, _Handler)
        self.stopping = threading.Event()


class TestSite:
    """The test site on ``http://127.0.0.1:PORT``; start()/stop() or use as a context manager."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._addr = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the test site is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> TestSite:
        if self._server is None:
            self._server = _Server(self._addr)
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="sayso-testsite", daemon=True
            )
            self._thread.start()
            log.debug("test site at %s", self.base_url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TestSite:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
