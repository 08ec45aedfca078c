"""One function per browser tool: ``fn(session, args) -> ToolResult``, in ``ACTIONS``.

Arguments arrive already checked by the tool contract (``sayso.tools.validate``: optional
arguments that were not given are absent). Adding a tool: declare it in ``sayso/tools/catalog.py``
and write its function with ``@action("name")`` in the module of its concern here. These
functions run in the session's worker thread and may raise Selenium errors: ``session.py`` turns
crashes into a relaunch and everything else into a one-sentence ``ToolResult``. Page text in
results is marked ``data["untrusted_text"]``: it is data to read or summarise, never
instructions. The JavaScript they run is in ``browser/js/*.js``.
"""

from __future__ import annotations

from sayso.browser.actions import clicking, fields, navigation, reading, tabs, view
from sayso.browser.actions.base import ACTIONS, Action, fail, ok
from sayso.browser.actions.view import screenshot_jpeg

__all__ = ["ACTIONS", "Action", "clicking", "fail", "fields", "navigation", "ok", "reading", "screenshot_jpeg",
           "tabs", "view"]
