"""``sayso worker ...``: run and build speech workers (Wyoming servers). Heavy imports are lazy."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from sayso.cli_setup import cli_settings, state
from sayso.errors import ConfigError, SaysoError

worker_app = typer.Typer(
    help="Speech workers: Wyoming servers for speech-to-text and text-to-speech "
         "(a GPU voice, or speech on another machine).",
    no_args_is_help=True,
)

TTS_NAMES = ("piper", "espeak", "chatterbox")
STT_NAMES = ("faster-whisper", "moonshine", "transformers")


def _settings():  # -> Settings, set up like every other command
    import importlib.util

    settings = cli_settings()
    if importlib.util.find_spec("wyoming") is None:
        raise ConfigError("The speech worker needs the package 'wyoming', which is not installed.",
                          hint="Install it with: pip install 'sayso[wyoming]'")
    return settings


@worker_app.command("serve")
def serve_cmd(
    tts: Annotated[str | None, typer.Option(help="Voice to serve: piper, espeak or chatterbox.")] = None,
    stt: Annotated[str | None, typer.Option(help="Speech-to-text to serve: faster-whisper or transformers.")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 10200; 10201 for chatterbox alone).")] = None,
    preload: Annotated[bool, typer.Option(help="Load the models now instead of on first use.")] = False,
) -> None:
    """Serve speech over the Wyoming protocol (Home Assistant's voice standard)."""
    if tts is not None and tts not in TTS_NAMES:
        raise ConfigError(f"Unknown voice '{tts}' for the worker: choose {', '.join(TTS_NAMES)}.")
    if stt is not None and stt not in STT_NAMES:
        raise ConfigError(f"Unknown speech-to-text '{stt}' for the worker: choose {', '.join(STT_NAMES)}.")
    settings = _settings()
    from sayso.wyoming_client import parse_url

    if port is None:
        port = (parse_url(settings.chatterbox_url).port
                if tts == "chatterbox" and not stt else settings.worker_port)
    host = host or settings.worker_host
    if tts == "chatterbox":
        from sayso.worker.install import chatterbox_importable, reexec_in_venv

        if not chatterbox_importable():
            argv = (["--debug"] if state.debug else []) + ["worker", "serve", "--tts", tts,
                                                              "--host", host, "--port", str(port)]
            argv += ["--stt", stt] if stt else []
            argv += ["--preload"] if preload else []
            reexec_in_venv(settings, argv)
    from sayso.worker.server import serve

    try:
        asyncio.run(serve(settings, tts=tts, stt=stt, host=host, port=port, preload=preload))
    except KeyboardInterrupt:
        pass


@worker_app.command("install")
def install_cmd(
    what: Annotated[str, typer.Argument(help="What to install: chatterbox.")],
    venv: Annotated[Path | None, typer.Option(help="Where to build the environment.")] = None,
) -> None:
    """Build the separate environment a worker needs (Chatterbox: torch 2.6, a few GB)."""
    if what != "chatterbox":
        raise ConfigError(f"Nothing called '{what}' can be installed: choose chatterbox.")
    settings = _settings()
    from sayso.worker.install import install_chatterbox

    target = install_chatterbox(settings, venv=venv)
    print(f"Chatterbox environment ready in {target}.")
    print("Start it:  sayso worker serve --tts chatterbox   (needs a CUDA GPU; set "
          "SAYSO_CHATTERBOX_CHECKPOINT_DIR when the machine is offline)")
    print("Use it:    SAYSO_TTS=chatterbox sayso run")


@worker_app.command("ping")
def ping_cmd(
    url: Annotated[str, typer.Argument(help="wyoming://HOST:PORT")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the server's info as JSON.")] = False,
) -> None:
    """Ask a Wyoming server what it offers (any Wyoming server, not only sayso's)."""
    settings = _settings()
    from sayso.wyoming_client import WyomingClient, WyomingUnavailable, parse_url

    address = parse_url(url, what="Wyoming server")
    client = WyomingClient(address, connect_timeout=settings.wyoming_connect_timeout_s,
                           read_timeout=settings.wyoming_timeout_s)
    try:
        info = asyncio.run(client.describe())
    except WyomingUnavailable as exc:
        raise SaysoError(f"The Wyoming server at {address} {exc.why}.", code="worker.unreachable") from exc
    if json_out:
        print(json.dumps(info.event().data, indent=2))
        return
    for program in info.asr:
        print(f"speech-to-text: {program.name} ({', '.join(m.name for m in program.models)})")
    for program in info.tts:
        print(f"text-to-speech: {program.name} ({', '.join(v.name for v in program.voices)})")
    if not info.asr and not info.tts:
        print("This server offers neither speech-to-text nor text-to-speech.")
