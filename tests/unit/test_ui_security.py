"""The web app refuses an exposed bind without a login, and never logs the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from sayso.config import load_settings
from sayso.errors import AuthError
from sayso.ui.gradio_app import check_exposure, serve


def test_loopback_needs_no_login() -> None:
    assert check_exposure(load_settings(), share=False) == []


@pytest.mark.parametrize("host,share", [("0.0.0.0", False), ("192.168.1.5", False), ("127.0.0.1", True)])
def test_exposed_bind_or_share_refuses_without_login(host: str, share: bool) -> None:
    with pytest.raises(AuthError) as err:
        serve(load_settings(ui_host=host), share=share)  # refuses before building anything
    assert "SAYSO_AUTH" in err.value.one_line()


def test_login_from_env_and_file(tmp_path: Path) -> None:
    f = tmp_path / "users"
    f.write_text("# comment\nann:pw1\nbob:pw2\n")
    pairs = check_exposure(load_settings(ui_host="0.0.0.0", auth="me:secret", auth_file=str(f)),
                           share=False)
    assert pairs == [("me", "secret"), ("ann", "pw1"), ("bob", "pw2")]


def test_malformed_login_is_one_sentence_without_the_secret() -> None:
    with pytest.raises(AuthError) as err:
        check_exposure(load_settings(ui_host="0.0.0.0", auth="nocolon"), share=False)
    assert "user:password" in err.value.one_line() and "nocolon" not in err.value.one_line()
