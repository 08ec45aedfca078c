"""What the page looks like: scroll, zoom, media, and the screenshot for the web app."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

from selenium.common.exceptions import (
    JavascriptException,
    WebDriverException,
)
from selenium.webdriver.chromium.webdriver import ChromiumDriver

from sayso.browser.actions.base import (
    action,
    fail,
    ok,
)
from sayso.browser.driver import DriverSession
from sayso.browser.js import script
from sayso.types import ToolResult

log = logging.getLogger(__name__)


ZOOM_LEVELS = (0.5, 0.67, 0.75, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)


@action("scroll")
def scroll(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    direction = args["direction"]
    before, after, top = (float(v) for v in s.driver.execute_script(script("scroll"), direction))
    data = {"y": after, "max": top}
    if abs(after - before) < 1:
        end = "top" if direction in ("up", "top") else "bottom"
        if top <= 1:
            return ok("scroll", "This page fits on one screen; there is nothing to scroll.", **data)
        return ok("scroll", f"Already at the {end} of the page.", **data)
    if direction in ("top", "bottom"):
        return ok("scroll", f"Scrolled to the {direction} of the page.", **data)
    at_end = (direction == "down" and after >= top - 1) or (direction == "up" and after <= 1)
    tail = f" That's the {'bottom' if direction == 'down' else 'top'} of the page." if at_end else ""
    return ok("scroll", f"Scrolled {direction}.{tail}", **data)


@action("zoom")
def zoom(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    current = float(s.driver.execute_script(script("zoom"), None))
    direction = args["direction"]
    if direction == "reset":
        level = 1.0
    elif direction == "in":
        level = next((z for z in ZOOM_LEVELS if z > current + 1e-3), ZOOM_LEVELS[-1])
    else:
        level = next((z for z in reversed(ZOOM_LEVELS) if z < current - 1e-3), ZOOM_LEVELS[0])
    if abs(level - current) < 1e-3 and direction != "reset":
        limit = "largest" if direction == "in" else "smallest"
        return ok("zoom", f"The page is already at its {limit} zoom, {round(current * 100)}%.", zoom=current)
    s.driver.execute_script(script("zoom"), level)
    s.zoom[s.driver.current_window_handle] = level
    if direction == "reset":
        return ok("zoom", "Zoom reset to 100%.", zoom=level)
    return ok("zoom", f"Zoomed {direction} to {round(level * 100)}%.", zoom=level)


@action("media")
def media(s: DriverSession, args: dict[str, Any]) -> ToolResult:
    action = args["action"]
    state = s.driver.execute_async_script(script("media"), action)
    if not state:
        return fail("media", "media.none", "There's no video or audio on this page.")
    what = "video" if state.get("tag") == "video" else "audio"
    if action == "play":
        if state.get("paused"):
            return fail("media", "media.blocked", f"The {what} would not start playing.", **state)
        return ok("media", f"Playing the {what}.", **state)
    done = {"pause": "Paused", "mute": "Muted", "unmute": "Unmuted"}[action]
    return ok("media", f"{done} the {what}.", **state)


def screenshot_jpeg(s: DriverSession, quality: int = 70) -> bytes:
    """The visible part of the page as JPEG (Chromium: one CDP call; others: PNG -> JPEG)."""
    d = s.driver
    if isinstance(d, ChromiumDriver):
        try:
            shot = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "jpeg", "quality": quality})
            return base64.b64decode(shot["data"])
        except (WebDriverException, JavascriptException, KeyError):
            pass
    png = d.get_screenshot_as_png()
    try:
        from PIL import Image
    except ImportError:
        return png
    img = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()
