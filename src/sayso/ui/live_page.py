"""The live-voice controls on the page, and the Gradio events that tie them to the session.

``js/live.js`` (loaded from the page's head) drives the controls: it reads the session's token
from a hidden textbox filled on load, and clicks a hidden button to have Gradio re-render the
chat, status, latency and browser view when the socket says the session's view changed.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from sayso.ui.handlers import UiHandlers, session_id
from sayso.ui.live import JS_PATH, LiveHub
from sayso.ui.sessions import Frame

SCRIPT = f'<script src="{JS_PATH.lstrip("/")}/live.js" defer></script>'

CONTROLS = """
<div id="sayso-live" class="sayso-live" data-state="off">
  <button id="sayso-live-toggle" type="button" class="sayso-live-toggle" aria-pressed="false"
          aria-describedby="sayso-live-state">Live voice</button>
  <span id="sayso-live-state" role="status" aria-live="polite">Live voice streams your microphone
    and the replies with the lowest delay. The Record button below works too.</span>
  <div id="sayso-live-partial" class="sayso-live-partial" aria-live="polite"
       aria-label="What you are saying"></div>
</div>
"""


def live_controls() -> tuple[Any, Any]:
    """Inside the Blocks, where the controls go: (hidden token box, hidden refresh button)."""
    gr.HTML(CONTROLS, elem_id="sayso-live-block")
    token = gr.Textbox(visible="hidden", elem_id="sayso-live-token")
    refresh = gr.Button("refresh", visible="hidden", elem_id="sayso-live-refresh")
    return token, refresh


def wire_live(demo: gr.Blocks, hub: LiveHub, handlers: UiHandlers, parts: tuple[Any, Any],
              turn_out: list[Any]) -> None:
    """The token on load; the refresh re-renders ``turn_out`` (the spoken reply is skipped)."""
    token, refresh = parts
    quiet: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}

    async def on_refresh(request: gr.Request) -> tuple[Any, ...]:
        session = handlers.manager.peek(session_id(request))
        if session is None:
            return tuple(gr.skip() for _ in turn_out)
        frame = Frame(chat=True, status=True, latency=True, browser=True)
        return handlers.turn_values(session, frame)

    async def on_load(request: gr.Request) -> str:
        return await hub.on_load(request)

    demo.load(on_load, None, [token], **quiet)
    refresh.click(on_refresh, None, turn_out, concurrency_limit=None,
                  trigger_mode="always_last", **quiet)
