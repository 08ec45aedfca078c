"""Access: an exposed bind without a login refuses to start, a wrong password is rejected, turns
are rate-limited per session, and errors reach the user as one sentence with no traceback, file
path or secret.

A real Gradio server with login, driven by ``gradio_client``; its sessions run the real
assistant (fast path, no models and no browser: access is what is tested here).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from sayso.agent.session import Assistant
from sayso.config import load_settings
from sayso.errors import AuthError
from sayso.events import TurnEvent
from sayso.ui.gradio_app import WebApp, build_app, check_exposure
from sayso.ui.stages import Stages

from .conftest import SECRET, assert_clean

pytestmark = pytest.mark.slow
USER = "alice"
RATE = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CrashingAssistant(Assistant):
    """The real assistant, except that "crash" blows up with a path and a secret in the error."""

    def text_turn(self, text: str) -> AsyncIterator[TurnEvent]:
        if text == "crash":
            async def boom() -> AsyncIterator[TurnEvent]:
                raise RuntimeError(f"failed at /work/main/src/sayso/x.py line 3 with token={SECRET}")
                yield  # pragma: no cover

            return boom()
        return super().text_turn(text)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    settings = load_settings(ui_port=_free_port(), data_dir=tmp_path_factory.mktemp("auth-data"),
                             auth=f"{USER}:{SECRET}", turn_rate_per_minute=RATE, max_sessions=8)

    async def assistant(s: Any, browser: Any, sink: Any) -> Assistant:
        return CrashingAssistant(settings=s, llm=None, stt=None, tts=None, browser=browser, sink=sink)

    web = build_app(settings, stages=Stages(settings, assistant_factory=assistant, browser_factory=lambda s: None))
    web.launch(settings, auth=check_exposure(settings, share=False), block=False)
    yield web
    web.close()


def _client(app: WebApp, password: str) -> Any:
    from gradio_client import Client

    return Client(app.url, auth=(USER, password), verbose=False)


def test_exposed_bind_without_login_refuses_to_start() -> None:
    for host in ("0.0.0.0", "192.168.1.10", "::"):
        with pytest.raises(AuthError) as err:
            check_exposure(load_settings(ui_host=host), share=False)
        assert "without a login" in err.value.message
    with pytest.raises(AuthError):
        check_exposure(load_settings(), share=True)  # a public share link needs a login too
    assert check_exposure(load_settings(), share=False) == []  # loopback: fine without
    assert check_exposure(load_settings(ui_host="0.0.0.0", auth=f"{USER}:{SECRET}"), share=False) == [(USER, SECRET)]


def test_cli_refuses_in_one_line(tmp_path: Any) -> None:
    proc = subprocess.run([sys.executable, "-m", "sayso", "ui", "--host", "0.0.0.0", "--port", str(_free_port())],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SAYSO_DATA_DIR": str(tmp_path / "d")})
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert "without a login" in err and "Traceback" not in err and len(err.splitlines()) <= 2, err


def test_wrong_password_is_rejected(app: WebApp) -> None:
    for password in ("wrong", "", SECRET.upper()):
        with pytest.raises(Exception) as err:  # noqa: B017 - gradio_client raises ValueError/HTTP errors
            _client(app, password).predict("scroll down", api_name="/text")
        assert SECRET not in str(err.value)
    ok, _ = _client(app, SECRET).predict("scroll down", api_name="/text")
    assert ok["reply"] == "The browser is not available, so I can't do that."


def test_rate_limit_per_session(app: WebApp) -> None:
    a, b = _client(app, SECRET), _client(app, SECRET)
    replies = [a.predict("hello there", api_name="/text")[0] for _ in range(RATE + 2)]
    assert all(not r.get("errors") for r in replies[:RATE]), replies[:RATE]
    for r in replies[RATE:]:
        assert r["errors"] == ["You're sending commands too fast; please wait a few seconds."]
    other, _ = b.predict("hello there", api_name="/text")  # another session is not affected
    assert not other.get("errors")


def test_errors_carry_no_trace_path_or_secret(app: WebApp) -> None:
    c = _client(app, SECRET)
    result, _ = c.predict("crash", api_name="/text")
    text = " ".join([*result.get("errors", []), result.get("reply", "")])
    assert_clean(text)
    assert "/work/" not in text and "x.py" not in text and "token" not in text
    again, _ = c.predict("scroll down", api_name="/text")  # the session lives on
    assert again["reply"] == "The browser is not available, so I can't do that."
