"""The web app. Minimal until the web app issue lands: a text box and the reply."""

from __future__ import annotations

import ipaddress
import logging
import os

from sayso.config import Settings
from sayso.errors import AuthError

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_pairs(settings: Settings) -> list[tuple[str, str]]:
    """user:password pairs from SAYSO_AUTH and SAYSO_AUTH_FILE (never logged)."""
    pairs: list[tuple[str, str]] = []
    raw = settings.auth.get_secret_value()
    lines = [raw] if raw else []
    if settings.auth_file:
        try:
            with open(settings.auth_file, encoding="utf-8") as f:
                lines += [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
        except OSError as exc:
            raise AuthError(f"Cannot read the auth file: {exc.strerror}.") from exc
    for line in lines:
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise AuthError("Auth must be given as user:password.")
        pairs.append((user, password))
    return pairs


def check_exposure(settings: Settings, *, share: bool) -> list[tuple[str, str]]:
    """Refuse an exposed bind (non-loopback host or a share link) without auth."""
    pairs = auth_pairs(settings)
    if (share or not is_loopback(settings.ui_host)) and not pairs:
        raise AuthError(
            f"Refusing to serve on {settings.ui_host if not share else 'a public share link'} without a login.",
            hint="Set SAYSO_AUTH=user:password (or SAYSO_AUTH_FILE), or bind 127.0.0.1.",
        )
    return pairs


def build_app(settings: Settings):  # -> gr.Blocks
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # never phone home
    import gradio as gr

    def reply(text: str) -> str:
        text = (text or "").strip()
        if not text:
            return "Say or type something."
        return f"You said: {text}. (The assistant's brain has not been built yet.)"

    with gr.Blocks(title="sayso") as demo:
        gr.Markdown("# sayso\nA private voice assistant that drives your browser.")
        box = gr.Textbox(label="Type a command", placeholder="open wikipedia")
        out = gr.Textbox(label="Reply", interactive=False)
        box.submit(reply, inputs=box, outputs=out)
    return demo


def serve(settings: Settings, *, share: bool = False) -> None:
    pairs = check_exposure(settings, share=share)
    demo = build_app(settings)
    log.info("serving on http://%s:%d", settings.ui_host, settings.ui_port)
    demo.queue().launch(
        server_name=settings.ui_host,
        server_port=settings.ui_port,
        share=share,
        auth=pairs or None,
        show_error=False,
        max_file_size=f"{settings.max_upload_mb:.0f}mb",
    )
