"""Every tool, declared once (ARCHITECTURE.md section 4: names and arguments stay as they are).

Adding a tool: one :class:`Tool` here, one ``@action("name")`` function in ``browser/actions/``,
and tests. The schema, the prompt's tool list, validation and chip texts follow.
The order here is the order of the prompt's tool list and of the schema.
"""

from __future__ import annotations

import re
from typing import Any

from sayso.errors import ToolArgsError
from sayso.tools.spec import Arg, Tool
from sayso.tools.values import check, parse_index

URL = Arg("url", "url", required=True, max_len=2048, what="a site or web address")
SCROLL = ("up", "down", "top", "bottom")
ZOOM = ("in", "out", "reset")
MEDIA = ("play", "pause", "mute", "unmute")
CLICK_INDEX = Arg("index", "index", max=999, noun="link number")


def _click(args: dict[str, Any]) -> dict[str, Any]:
    """"#4" or "number 4" as the text means link 4; a number wins over words; one is needed."""
    text = args.get("text")
    if "index" not in args and text and re.search(r"\d|#|number", text) and parse_index(text) is not None:
        args["index"] = check(CLICK_INDEX, text, "click")
    if "index" in args:
        args.pop("text", None)
    elif not text:
        raise ToolArgsError("Tell me which link to click: its words or its number.")
    return args


TOOLS: tuple[Tool, ...] = (
    Tool("navigate", "Open a website by name or address.",
         'navigate {"url"}: open a website by name or address', ("opened {url}",), (URL,)),
    Tool("search", "Search the web.", 'search {"query"}: search the web', ("searched '{query}'",),
         (Arg("query", "text", required=True, max_len=500, what="something to search for"),)),
    Tool("click", "Click a link or button by its visible words, or by its number.",
         'click {"text"} or {"index"}: click a link or button by its words, or by its number',
         ("clicked '{text}'", "clicked link {index}", "clicked"),
         (Arg("text", "text", max_len=200, what="a link"), CLICK_INDEX,
          Arg("kind", "choice", choices=("auto", "result", "link"), llm=False)),
         risk="confirm", check=_click),
    Tool("type", "Type text into the focused or named field.",
         'type {"text"}: type into the search box or a field', ("typed '{text}'",),
         (Arg("text", "text", required=True, max_len=1000, what="the words to type"),
          Arg("field", "text", max_len=200, what="a field"), Arg("submit", "bool")),
         risk="confirm"),
    Tool("scroll", "Scroll about a screen, or to the top or bottom.",
         'scroll {"direction": up|down|top|bottom}', ("scrolled {direction}", "scrolled"),
         (Arg("direction", "choice", required=True, choices=SCROLL,
              aliases={"page down": "down", "page up": "up", "end": "bottom", "start": "top", "home": "top"}),)),
    Tool("back", "Go back to the previous page.", "back", ("went back",), line="history"),
    Tool("forward", "Go forward in history.", "forward", ("went forward",), line="history"),
    Tool("reload", "Reload the page.", "reload: browser history", ("reloaded the page",), line="history"),
    Tool("new_tab", "Open a new tab, optionally with a website.", 'new_tab {"url"?}',
         ("opened a new tab at {url}", "opened a new tab"),
         (Arg("url", "url", max_len=2048, what="a web address"),), line="tabs"),
    Tool("close_tab", "Close the current tab.", "close_tab", ("closed the tab",), line="tabs"),
    Tool("switch_tab", "Switch to a tab by number (1 is the first), or next/previous.",
         'switch_tab {"index": number|next|previous}', ("switched to tab {index}", "switched tabs"),
         (Arg("index", "index", required=True, max=99, choices=("next", "previous"),
              aliases={"prev": "previous", "back": "previous", "forward": "next"},
              bad="Say which tab: a number like 2, or next or previous."),), line="tabs"),
    Tool("read_page", "Read the page's main text aloud.", "read_page: read the page aloud",
         ("read the page",), line="reading", reply="page_text"),
    Tool("summarize_page", "Summarize the page.", "summarize_page: summarize it",
         ("summarized the page",), line="reading", reply="summary"),
    Tool("read_headings", "List the page's headings.", "read_headings: list its headings",
         ("read the headings",), line="reading"),
    Tool("media", "Control the page's video or audio.", 'media {"action": play|pause|mute|unmute}',
         ("media: {action}", "media"),
         (Arg("action", "choice", required=True, choices=MEDIA,
              aliases={"resume": "play", "stop": "pause", "silence": "mute"}),), line="page"),
    Tool("zoom", "Zoom the page.", 'zoom {"direction": in|out|reset}', ("zoomed {direction}", "zoomed"),
         (Arg("direction", "choice", required=True, choices=ZOOM,
              aliases={"bigger": "in", "larger": "in", "smaller": "out", "normal": "reset", "default": "reset"}),),
         line="page"),
    Tool("stop", "Stop speaking, cancel.", "stop: stop talking", ("stopped",), browser=False, reply="silent"),
    Tool("copy_url", "Say and show the current page's address.", "copy_url: say the address of the current page",
         ("gave the page address",)),
)

# the LLM's pseudo-tool for a plain spoken reply (not a tool: nothing runs). The prompt asks for
# the answer as plain text (no JSON); a backend without grammars writes {"tool": "answer", ...}
ANSWER = "answer"
ANSWER_PROMPT = ("questions and chat: no JSON, reply with the spoken answer itself in plain text, "
                 "one or two short sentences, no lists, no markdown.")
ANSWER_TEXT_MAX = 600
