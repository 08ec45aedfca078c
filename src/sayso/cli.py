"""The ``sayso`` command line (typer). The only module that prints."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from sayso.cli_setup import cli_settings, env_debug, state
from sayso.errors import ConfigError, SaysoError, StageUnavailableError
from sayso.worker.cli import worker_app  # light: typer only; the rest loads lazily

app = typer.Typer(
    name="sayso",
    help="A private, offline voice assistant that drives a real web browser.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

log = logging.getLogger(__name__)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    state.debug = debug or env_debug()


@app.command()
def doctor(
    json_out: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check every component: what was found, what is missing, and the command that fixes it."""
    from sayso.doctor import render, run_checks

    try:
        settings = cli_settings()
        config_error = None
    except ConfigError as exc:
        settings, config_error = None, exc
    checks = run_checks(settings, config_error=config_error)
    ok = render(checks, json_out=json_out)
    raise typer.Exit(0 if ok else 1)


@app.command("config")
def config_cmd(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
) -> None:
    """List every setting: env variable, default, current value, meaning."""
    from sayso.config import describe_settings

    rows = describe_settings(cli_settings())
    if markdown:
        print("| key | env | default | meaning |\n|---|---|---|---|")
        for r in rows:
            default = r["default"].replace("|", "\\|")
            print(f"| `{r['key']}` | `{r['env']}` | `{default}` | {r['doc']} |")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="sayso settings (env SAYSO_*, or sayso.toml)")
    for col in ("env", "value", "meaning"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["env"], r["value"], r["doc"])
    Console().print(table)


@app.command()
def ui(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    share: Annotated[bool, typer.Option(help="Gradio share link (needs auth).")] = False,
) -> None:
    """Start the web app."""
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["ui_host"] = host
    if port is not None:
        overrides["ui_port"] = port
    settings = cli_settings(**overrides)
    from sayso.ui.gradio_app import serve

    serve(settings, share=share)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
) -> None:
    """Start the assistant (the web app with the voice loop); same as 'sayso ui'."""
    ui(host=host, port=port, share=False)


@app.command()
def chat(
    headed: Annotated[bool, typer.Option("--headed", help="Show the browser window.")] = False,
) -> None:
    """Talk to the assistant in the terminal (it drives the browser)."""
    settings = cli_settings(**({"browser_headless": False} if headed else {}))
    import asyncio

    from sayso.agent.textmode import human_lines, run_turn, text_session

    async def loop() -> None:
        async with text_session(settings, preload_llm=True) as assistant:
            print("sayso chat: type what to do or ask; an empty line or Ctrl-D quits.")
            while (line := await asyncio.to_thread(_read_line, "you> ")):
                result, _ = await run_turn(assistant, line)
                print("\n".join(human_lines(result)))

    asyncio.run(loop())


def _read_line(prompt: str) -> str:
    try:
        return input(prompt).strip()
    except EOFError:
        return ""


@app.command()
def do(
    utterance: Annotated[str, typer.Argument(help="What to do, or '-' to read lines from stdin.")],
    url: Annotated[str | None, typer.Option(help="Start the browser at this URL.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan the actions without a browser.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object per turn.")] = False,
) -> None:
    """Run one turn from text: plan and perform the browser actions."""
    import asyncio
    import json

    from sayso.agent.textmode import human_lines, run_turn, start_url_overrides, text_session

    base = cli_settings()
    settings = cli_settings(**start_url_overrides(base.browser_allowlist, url)) if url and not dry_run else base
    lines = sys.stdin if utterance == "-" else [utterance]

    async def turns() -> None:
        async with text_session(settings, url=url, dry_run=dry_run) as assistant:
            for line in lines:
                if not line.strip():
                    continue
                result, _ = await run_turn(assistant, line.strip())
                print(json.dumps(result) if json_out else "\n".join(human_lines(result)), flush=True)

    asyncio.run(turns())


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="Audio file (WAV, FLAC, OGG, MP3, ...).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON with words and timings.")] = False,
) -> None:
    """Transcribe an audio file."""
    settings = cli_settings()
    from sayso.audio.io import read_audio

    audio = read_audio(file, max_seconds=settings.stt_max_audio_s)  # validates the input first
    from sayso.stt.offline import transcribe_file

    result = transcribe_file(settings, audio)
    if json_out:
        import json

        print(json.dumps(result, indent=2))
    else:
        print(result["text"] or "(no speech)")


@app.command()
def say(
    text: Annotated[str, typer.Argument(help="What to say.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="WAV file to write.")] = Path("say.wav"),
    voice: Annotated[str | None, typer.Option(help="Piper voice .onnx path.")] = None,
    rate: Annotated[float | None, typer.Option(help="Speaking rate (1.0 normal).")] = None,
) -> None:
    """Speak text into a WAV file."""
    settings = cli_settings()
    from sayso.tts.offline import say_to_file

    info = say_to_file(settings, text, out, voice=voice, rate=rate)
    print(f"{info['path']}: {info['audio_s']:.2f} s of speech ({info['voice']}, {info['elapsed_ms']:.0f} ms)")


@app.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="A small subset (< 3 minutes).")] = False,
    out: Annotated[Path | None, typer.Option(help="Directory for JSON and PNG results.")] = None,
    commands: Annotated[list[Path] | None, typer.Option(
        "--commands", help="More commands (utterance<TAB>expected) for intent accuracy; repeatable.")] = None,
    limit: Annotated[int | None, typer.Option(
        min=1, help="At most N spoken scenarios and N intent rows per file.")] = None,
    serve_metrics: Annotated[int | None, typer.Option(
        "--serve-metrics", min=1, max=65535, help="Serve /metrics on 127.0.0.1:PORT while it runs.")] = None,
    no_baseline: Annotated[bool, typer.Option("--no-baseline", help="Skip the naive baseline.")] = False,
    webapp: Annotated[bool | None, typer.Option(
        "--webapp/--no-webapp", help="Also measure the web app end to end in a real Chromium page "
        "(default: in the full run, not with --quick).")] = None,
    webapp_turns: Annotated[int, typer.Option(
        "--webapp-turns", min=1, max=50, help="Spoken turns through the web app page.")] = 10,
    no_cold_start: Annotated[bool, typer.Option(
        "--no-cold-start", help="Skip timing the web app's cold start.")] = False,
    sweep: Annotated[bool | None, typer.Option(
        "--sweep/--no-sweep", help="Speak every dev command in several voices, clean and at 20 dB, "
        "for accuracy (default: in the full run, not with --quick).")] = None,
) -> None:
    """Benchmark the real pipeline against the naive baseline (results are written as it goes)."""
    settings = cli_settings()
    from sayso.bench.report import markdown
    from sayso.bench.runner import BenchOptions, run_bench

    options = BenchOptions(quick=quick, out_dir=out, commands=tuple(commands or ()), limit=limit,
                           serve_metrics=serve_metrics, baseline=not no_baseline, webapp=webapp,
                           webapp_turns=webapp_turns, sweep=sweep, cold_start=not no_cold_start)
    result = run_bench(settings, options)
    print(markdown(result))
    print(f"\nresults: {result['files']['json']} (table: {result['files']['md']})")
    if result["files"].get("png"):
        print(f"plot: {result['files']['png']}")


app.add_typer(worker_app, name="worker")


def main() -> None:
    """Entry point: run the app; errors become one line on stderr unless --debug."""
    debug = "--debug" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except SaysoError as exc:
        if debug or state.debug:
            raise
        print(f"error: {exc.one_line()}", file=sys.stderr)
        sys.exit(2 if isinstance(exc, StageUnavailableError) else 1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last boundary: one line, no traceback
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # a usage error
            print(f"error: {exc.format_message()} (see 'sayso --help')", file=sys.stderr)
            sys.exit(exc.exit_code)
        if debug or state.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}. Run again with --debug for details.",
              file=sys.stderr)
        sys.exit(1)
