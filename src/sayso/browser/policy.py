"""URL safety and tool-argument validation: nothing reaches the driver without passing here.

Only ``http``/``https`` pages (and ``about:blank``) may open. ``javascript:``, ``file:``,
``data:``, ``chrome:``, ``about:`` and every other scheme are refused, and so are loopback,
private, link-local and other non-public addresses (in any spelling a browser accepts, e.g.
``http://2130706433/`` or ``http://127.1/``), unless ``browser_allow_private`` is on or the
host is in ``browser_allowlist``. Host names are not resolved here (no DNS on every command).

Tool arguments are checked for type, range and allowed values before a browser call is made;
a bad argument is an ``InvalidToolArgs`` with one sentence a person understands.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sayso.errors import BrowserError, UnsafeUrlError

MAX_URL_LEN = 2048
MAX_TEXT_LEN = 2000
MAX_QUERY_LEN = 500
MAX_INDEX = 999
ALLOWED_SCHEMES = ("http", "https")
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class InvalidToolArgs(BrowserError):
    """A tool was called with a missing, mistyped or out-of-range argument."""

    code = "tool.invalid_args"


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Which hosts may open besides the public web."""

    allow_private: bool = False
    allowlist: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> UrlPolicy:
        return cls(
            allow_private=bool(getattr(settings, "browser_allow_private", False)),
            allowlist=tuple(h.strip().lower() for h in getattr(settings, "browser_allowlist", ()) or ()),
        )

    def check(self, url: str) -> str:
        """Return ``url`` (normalised) if it may open, else raise UnsafeUrlError."""
        return check_url(url, allow_private=self.allow_private, allowlist=self.allowlist)


def _host_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a browser would connect to for an IP-literal host, in any legacy spelling."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", bare) and not bare.endswith(".."):
        try:  # inet_aton accepts 127.1, 0x7f.0.0.1, 2130706433: as browsers do
            return ipaddress.IPv4Address(socket.inet_aton(bare.rstrip(".")))
        except OSError:
            return None
    return None


def is_private_host(host: str) -> bool:
    """True for loopback, private, link-local, reserved and local-only names and addresses."""
    host = host.lower().rstrip(".")
    if host in ("localhost", "") or host.endswith(PRIVATE_SUFFIXES):
        return True
    ip = _host_ip(host)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, allow_private: bool = False, allowlist: Iterable[str] = ()) -> str:
    """Return the URL to open, or raise UnsafeUrlError with one sentence saying why not."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeUrlError("There is no web address to open.", code="url.invalid")
    url = url.strip()
    if len(url) > MAX_URL_LEN:
        raise UnsafeUrlError("That web address is too long to open.", code="url.invalid")
    if _CONTROL.search(url):
        raise UnsafeUrlError("That web address contains spaces or control characters.", code="url.invalid")
    if url.lower() == "about:blank":
        return "about:blank"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "that kind of"
        raise UnsafeUrlError(
            f"I won't open {shown} addresses; only web pages (http and https) are allowed.",
            code="url.unsafe",
        )
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError("That web address is not valid.", code="url.invalid") from exc
    if not host:
        raise UnsafeUrlError("That web address has no site name in it.", code="url.invalid")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError(
            "I won't open web addresses with a user name or password in them.", code="url.unsafe"
        )
    try:
        host.encode("idna")
    except UnicodeError as exc:
        raise UnsafeUrlError("That web address has an invalid site name.", code="url.invalid") from exc
    allowed = {h.lower() for h in allowlist}
    if not allow_private and host not in allowed and is_private_host(host):
        raise UnsafeUrlError(
            f"I won't open {host}: it is a private or local address.", code="url.private",
            hint="Add it to browser_allowlist (or set browser_allow_private) to allow it.",
        )
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if port is None and netloc.endswith(":"):
        netloc = netloc[:-1]
    return urlunsplit((scheme, netloc.lower(), parts.path or "/", parts.query, parts.fragment))


# ---------------------------------------------------------------- tool arguments

SCROLL_DIRECTIONS = ("up", "down", "top", "bottom")
MEDIA_ACTIONS = ("play", "pause", "mute", "unmute")
ZOOM_DIRECTIONS = ("in", "out", "reset")
TAB_MOVES = ("next", "previous", "first", "last")
CLICK_KINDS = ("auto", "result", "link")
_NO_ARGS = ("back", "forward", "reload", "close_tab", "read_page", "summarize_page", "read_headings")
TOOLS = (
    "navigate", "search", "click", "type", "scroll", "new_tab", "switch_tab", "media", "zoom",
    *_NO_ARGS,
)
_ALIASES = {
    "scroll": {"page down": "down", "page up": "up", "end": "bottom", "start": "top", "home": "top"},
    "switch_tab": {"prev": "previous", "back": "previous", "forward": "next"},
    "zoom": {"bigger": "in", "larger": "in", "smaller": "out", "normal": "reset", "default": "reset"},
    "media": {"resume": "play", "stop": "pause", "silence": "mute"},
}
_ORDINALS = {
    "first": 1, "one": 1, "second": 2, "two": 2, "third": 3, "three": 3, "fourth": 4, "four": 4,
    "fifth": 5, "five": 5, "sixth": 6, "six": 6, "seventh": 7, "seven": 7, "eighth": 8,
    "eight": 8, "ninth": 9, "nine": 9, "tenth": 10, "ten": 10,
}


def _text(args: Mapping[str, Any], key: str, *, limit: int, required: bool, what: str) -> str | None:
    value = args.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidToolArgs(f"I need {what} for that.")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidToolArgs(f"The {key} must be text.")
    value = str(value).strip()
    if len(value) > limit:
        raise InvalidToolArgs(f"The {key} is too long (at most {limit} characters).")
    return value


def parse_index(value: Any) -> int | None:
    """A 1-based number from 4, "4", "#4", "number four", "the third"; None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        words = re.sub(r"[#.,]", " ", value.lower()).split()
        words = [w for w in words if w not in ("the", "number", "no", "link", "result", "tab")]
        if len(words) == 2 and words[1] == "one":  # "the first one"
            words = words[:1]
        if len(words) == 1:
            w = words[0]
            if w.isdigit():
                return int(w)
            m = re.fullmatch(r"(\d+)(st|nd|rd|th)", w)
            if m:
                return int(m.group(1))
            return _ORDINALS.get(w)
    return None


def _choice(tool: str, args: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidToolArgs(f"I need a {key} for {tool}: one of {', '.join(allowed)}.")
    value = value.strip().lower()
    value = _ALIASES.get(tool, {}).get(value, value)
    if value not in allowed:
        raise InvalidToolArgs(f"'{value[:40]}' is not a {key} I know for {tool}: use {', '.join(allowed)}.")
    return value


def _bool(args: Mapping[str, Any], key: str) -> bool | None:
    value = args.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    raise InvalidToolArgs(f"The {key} must be true or false.")


def validate_args(tool: str, args: Mapping[str, Any] | None) -> dict[str, Any]:
    """Checked, normalised arguments for ``tool``; raises InvalidToolArgs."""
    if tool not in TOOLS:
        raise InvalidToolArgs(f"The browser has no tool called '{str(tool)[:40]}'.", code="tool.unknown")
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise InvalidToolArgs("The tool arguments must be a set of named values.")
    out: dict[str, Any] = {}
    if tool == "navigate":
        out["url"] = _text(args, "url", limit=MAX_URL_LEN, required=True, what="a site or web address")
    elif tool == "new_tab":
        out["url"] = _text(args, "url", limit=MAX_URL_LEN, required=False, what="a web address")
    elif tool == "search":
        out["query"] = _text(args, "query", limit=MAX_QUERY_LEN, required=True, what="something to search for")
    elif tool == "click":
        text = _text(args, "text", limit=200, required=False, what="a link")
        raw_index = args.get("index")
        index = None
        if raw_index is not None and raw_index != "":
            index = parse_index(raw_index)
            if index is None:
                raise InvalidToolArgs("The link number must be a whole number, like 3.")
        elif text is not None and (as_number := parse_index(text)) is not None and re.search(r"\d|#|number", text):
            index, text = as_number, None  # "#4", "number 4"
        if index is not None and not 1 <= index <= MAX_INDEX:
            raise InvalidToolArgs("The link number must be 1 or more.")
        if text is None and index is None:
            raise InvalidToolArgs("Tell me which link to click: its words or its number.")
        out.update(text=text, index=index)
        out["kind"] = _choice(tool, {"kind": args.get("kind") or "auto"}, "kind", CLICK_KINDS)
        if args.get("confirmed") is True:  # the user said yes to "Should I press ...?"
            out["confirmed"] = True
    elif tool == "type":
        out["text"] = _text(args, "text", limit=MAX_TEXT_LEN, required=True, what="the words to type")
        out["field"] = _text(args, "field", limit=200, required=False, what="a field")
        out["submit"] = _bool(args, "submit")
        if args.get("confirmed") is True:
            out["confirmed"] = True
    elif tool == "scroll":
        out["direction"] = _choice(tool, args, "direction", SCROLL_DIRECTIONS)
    elif tool == "switch_tab":
        value = args.get("index", args.get("tab"))
        if isinstance(value, str) and value.strip().lower() in (*TAB_MOVES, *_ALIASES["switch_tab"]):
            out["index"] = _choice(tool, {"index": value}, "index", TAB_MOVES)
        else:
            number = parse_index(value)
            if number is None or not 1 <= number <= MAX_INDEX:
                raise InvalidToolArgs("Say which tab: a number like 2, or next or previous.")
            out["index"] = number
    elif tool == "media":
        out["action"] = _choice(tool, args, "action", MEDIA_ACTIONS)
    elif tool == "zoom":
        out["direction"] = _choice(tool, args, "direction", ZOOM_DIRECTIONS)
    return out
