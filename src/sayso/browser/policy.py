"""URL safety: no page opens without passing here.

Only ``http``/``https`` pages (and ``about:blank``) may open. ``javascript:``, ``file:``,
``data:``, ``chrome:``, ``about:`` and every other scheme are refused, and so are loopback,
private, link-local and other non-public addresses (in any spelling a browser accepts, e.g.
``http://2130706433/`` or ``http://127.1/``), unless ``browser_allow_private`` is on or the
host is in ``browser_allowlist``. Host names are not resolved here (no DNS on every command).

Tool arguments are checked by the tool contract (``sayso.tools``) before a browser call is made.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from sayso.errors import UnsafeUrlError

if TYPE_CHECKING:
    from sayso.config import Settings

MAX_URL_LEN = 2048
ALLOWED_SCHEMES = ("http", "https")
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_HOST_PORT = re.compile(r"^[\w.-]+:\d+")


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Which hosts may open besides the public web."""

    allow_private: bool = False
    allowlist: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlPolicy:
        return cls(
            allow_private=settings.browser_allow_private,
            allowlist=tuple(h.strip().lower() for h in settings.browser_allowlist),
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


def refuse_scheme(url: str) -> None:
    """Raise UnsafeUrlError if a spoken address names a scheme other than http(s).

    ``localhost:8000`` is a host and a port, not a scheme. The full check is :func:`check_url`,
    when the address is opened; this one runs while a tool call is validated.
    """
    m = _SCHEME.match(url.strip())
    if m and m.group(1).lower() not in ALLOWED_SCHEMES and url.strip().lower() != "about:blank" \
            and not _HOST_PORT.match(url.strip()):
        raise UnsafeUrlError(_scheme_sentence(m.group(1).lower()), code="url.unsafe")


def _scheme_sentence(scheme: str) -> str:
    shown = f"{scheme}:" if scheme else "that kind of"
    return f"I won't open {shown} addresses; only web pages (http and https) are allowed."


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
        raise UnsafeUrlError(_scheme_sentence(scheme), code="url.unsafe")
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
