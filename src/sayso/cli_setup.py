"""What every ``sayso`` command shares, for the main CLI and ``sayso worker``: the --debug flag
(``state``) and settings loaded with logging and secret redaction set up (``cli_settings``).

Its own module so that ``sayso.cli`` (which mounts ``sayso worker``) and ``sayso.worker.cli``
do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sayso.config import Settings


@dataclass
class CliState:
    debug: bool = False
    """--debug (or SAYSO_DEBUG): tracebacks and debug logs."""


state = CliState()


def cli_settings(**overrides: object) -> Settings:
    """Settings for a command: logging at the level asked for, secrets never logged.
    (config is imported here, not at the top, to keep ``--help`` fast.)"""
    from sayso.config import load_settings
    from sayso.logs import register_secret, setup_logging

    settings = load_settings(**overrides)
    setup_logging("DEBUG" if state.debug else settings.log_level)
    for secret in (settings.openai_api_key, settings.auth):  # never in a log line
        register_secret(secret.get_secret_value().partition(":")[2] or secret.get_secret_value())
    return settings


def env_debug() -> bool:
    """SAYSO_DEBUG from the environment or config file (False when the config is broken)."""
    from sayso.config import Settings

    try:
        return bool(Settings().debug)
    except Exception:
        return False
