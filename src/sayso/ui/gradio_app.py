"""The web app's entry: exposure and auth checks, building the app, and serving it.

``sayso ui`` calls :func:`serve`. The page itself is in ``layout.py``, its event handlers in
``handlers.py``, the per-session state in ``sessions.py``, the rendering of TurnEvents in
``render.py`` and the audio glue in ``audio_stream.py``. Routes beside the page (``/metrics``)
are added to Gradio's own FastAPI app in :func:`mount_extra_routes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sayso.config import Settings
from sayso.errors import AuthError
from sayso.logs import register_secret
from sayso.ui.sessions import SessionManager
from sayso.ui.stages import Stages

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
        register_secret(password)  # a password never reaches a log line
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


@dataclass
class WebApp:
    """The built app: the Gradio page, its session manager, and what launch() needs."""

    demo: Any  # gr.Blocks
    manager: SessionManager
    stages: Stages
    assets: Any  # layout.PageAssets
    live: Any = None  # live.LiveHub: the low-latency voice socket, when enabled
    loop: asyncio.AbstractEventLoop | None = None  # the server's loop, once serving

    def launch(self, settings: Settings, *, auth: list[tuple[str, str]] | None = None,
               share: bool = False, block: bool = True) -> None:
        """Serve on settings.ui_host:ui_port; ``/metrics`` is mounted on the same server."""
        self.demo.queue(default_concurrency_limit=settings.max_sessions).launch(
            server_name=settings.ui_host,
            server_port=settings.ui_port,
            share=share,
            auth=auth or None,
            show_error=False,  # errors reach the page as one sentence, never a traceback
            max_file_size=f"{settings.max_upload_mb:.0f}mb",
            theme=self.assets.theme,
            css=self.assets.css,
            head=self.assets.head + (_live_script() if self.live is not None else ""),
            footer_links=[],
            quiet=True,
            prevent_thread_lock=True,
            app_kwargs={"docs_url": None, "redoc_url": None, "openapi_url": None,
                        "lifespan": self._lifespan},
        )
        mount_extra_routes(self)
        log.info("web app at %s", self.url)
        if block:
            self.demo.block_thread()

    @property
    def url(self) -> str:
        return str(getattr(self.demo, "local_url", "") or "")

    def call(self, coro: Any, timeout: float = 60.0) -> Any:
        """Run a coroutine in the server's loop from another thread (tests, scripts)."""
        if self.loop is None:
            raise RuntimeError("the app is not serving")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Any) -> AsyncIterator[None]:
        """In the server's event loop: load the shared models now; on stop, end every session."""
        self.loop = asyncio.get_running_loop()
        warm = asyncio.create_task(self.stages.ready(), name="sayso-warmup")
        try:
            yield
        finally:
            warm.cancel()
            await self.manager.close_all()
            await self.stages.close()

    def close(self) -> None:
        """Stop serving; every session's browser is closed on the way out."""
        self.demo.close()


def _live_script() -> str:
    from sayso.ui.live_page import SCRIPT

    return SCRIPT


def mount_extra_routes(app: WebApp) -> None:
    """Routes beside the page: the live-voice socket and scripts, ``GET /metrics``."""
    if app.live is not None:
        app.live.mount(app.demo.app)
    from sayso.metrics import mount_metrics

    mount_metrics(app.demo.app)


def build_app(settings: Settings, *, stages: Stages | None = None) -> WebApp:
    """Build the page, its per-session manager and the shared stages (nothing loads yet)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # never phone home
    # Gradio's cache (uploads, streamed audio) lives in our data dir, nowhere else
    os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(settings.data_dir) / "gradio"))
    from sayso.ui.handlers import UiHandlers
    from sayso.ui.layout import assets, build_blocks

    stages = stages or Stages(settings)
    sinks, on_count = _observers()
    manager = SessionManager(settings, stages, sinks=sinks, on_count=on_count)
    handlers = UiHandlers(manager, settings)
    live = None
    if settings.ui_live_voice:
        from sayso.ui.live import LiveHub

        live = LiveHub(manager)
    demo = build_blocks(handlers, settings, live=live)
    return WebApp(demo=demo, manager=manager, stages=stages, assets=assets(), live=live)


def _observers() -> tuple[tuple[Any, ...], Any]:
    """Event sinks every session feeds (metrics, the per-turn log line), and the session gauge."""
    from sayso.metrics import TurnSummaryLog, get_metrics

    metrics = get_metrics()
    return (metrics.sink, TurnSummaryLog()), metrics.active_sessions.set


def serve(settings: Settings, *, share: bool = False) -> None:
    pairs = check_exposure(settings, share=share)
    app = build_app(settings)
    log.info("serving on http://%s:%d", settings.ui_host, settings.ui_port)
    app.launch(settings, auth=pairs, share=share, block=True)
