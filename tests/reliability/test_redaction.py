"""Logs keep no raw audio, no whole pages and no credentials.

The handler ``setup_logging`` installs (the one ``sayso ui``/``chat``/``do`` log through) is
pointed at a buffer; real turns then run at DEBUG against a real Chromium on a 200 kB page and
an LLM endpoint whose address carries a password, next to direct log calls with every kind of
secret and binary argument.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import numpy as np
import pytest

from sayso.agent.turn import LLM_DOWN, SUMMARY_DOWN
from sayso.llm.ollama import OllamaLlm
from sayso.logs import MAX_LOG_CHARS, RedactionFilter, redact, register_secret, setup_logging
from sayso.testsite import TestSite

from .conftest import SECRET, Pages, Tracked, assert_clean, settings_for, turn

pytestmark = pytest.mark.slow


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The sayso handler's output, at DEBUG, in a buffer."""
    setup_logging("DEBUG")
    root = logging.getLogger()
    handler = next(h for h in root.handlers if getattr(h, "_sayso", False))
    assert any(isinstance(f, RedactionFilter) for f in handler.filters), "the redaction filter is installed"
    buf = io.StringIO()
    old = handler.setStream(buf)  # type: ignore[attr-defined]
    try:
        yield buf
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]
        root.setLevel(logging.WARNING)


def test_secrets_audio_and_long_text_are_redacted(captured: io.StringIO) -> None:
    log = logging.getLogger("sayso.test")
    register_secret(SECRET)
    log.info("LLM at %s", f"http://bob:{SECRET}@10.1.2.3:11434/api/chat")
    log.info("headers %s", {"Authorization": "Bearer eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJlMTIz", "X-Api-Key": "k-123456"})
    log.info("config openai_api_key=sk-live-abcdefghijklmnop1234 auth=alice:%s", SECRET)
    log.warning("the user said their password is %s", SECRET)
    log.info("mic chunk %s and %s", np.zeros((48000, 2), np.int16), b"RIFF" + bytes(64000))
    log.info("page text: %s", "All work and no play. " * 5000)
    try:
        raise RuntimeError(f"connect to https://root:{SECRET}@db.internal failed")
    except RuntimeError:
        log.exception("stage failed")
    out = captured.getvalue()
    assert SECRET not in out and "sk-live-abcdefghijklmnop1234" not in out and "k-123456" not in out
    assert "eyJhbGciOi" not in out and "bob:" not in out and "root:" not in out
    assert "http://***@10.1.2.3:11434/api/chat" in out  # the host is still there to debug with
    assert "<array (48000, 2) int16>" in out and "<64004 bytes>" in out
    assert "\\x00\\x00" not in out and "0 0 0 0" not in out  # no samples
    assert "more characters cut" in out and max(len(line) for line in out.splitlines()) < MAX_LOG_CHARS + 200
    assert "RuntimeError" in out and "Traceback" in out  # the traceback is kept, redacted


def test_redact_keeps_ordinary_text() -> None:
    for text in ("Opened Pricing - Sayso Test.", "clicked 'Author index'", "session 1a2b3c4d opened (2 active)",
                 "browser chromium started in 1532 ms"):
        assert redact(text).replace("***", "") in (text, redact(text).replace("***", ""))
    assert redact("Opened Pricing - Sayso Test.") == "Opened Pricing - Sayso Test."


async def test_real_turns_log_no_page_and_no_credentials(captured: io.StringIO, assistant_factory, browser: Tracked,
                                                         pages: Pages, site: TestSite) -> None:  # type: ignore[no-untyped-def]
    host = f"http://bob:{SECRET}@127.0.0.1:9"  # an LLM endpoint whose address carries a password
    settings = settings_for(site, llm="ollama", ollama_host=host, llm_timeout_s=3)
    assistant = assistant_factory(settings=settings, llm=OllamaLlm(settings=settings), browser=browser.browser)
    assert (await browser.do("navigate", url=pages.url("/big.html"))).ok
    read = await turn(assistant, "read this page")
    assert read.actions_ok() == [True] and read.reply.startswith("Paragraph 0")
    down = await turn(assistant, "what is this page about")  # the LLM is unreachable
    assert down.reply in (LLM_DOWN, SUMMARY_DOWN)
    assert_clean(down.reply)
    for e in down.errors:
        assert_clean(e["message"])
    out = captured.getvalue()
    assert "sayso." in out, "the turns were logged"
    assert SECRET not in out and "bob:" not in out
    assert "Paragraph 399" not in out and out.count("lorem ipsum") < 100  # not the page
    assert max(len(line) for line in out.splitlines()) < MAX_LOG_CHARS + 200
