"""browser stage: a real browser (Selenium) driven by tool calls. See session.SeleniumBrowser."""

from __future__ import annotations

from typing import Any

__all__ = ["SeleniumBrowser"]


def __getattr__(name: str) -> Any:  # lazy: importing sayso.browser does not import Selenium
    if name == "SeleniumBrowser":
        from sayso.browser.session import SeleniumBrowser

        return SeleniumBrowser
    raise AttributeError(name)
