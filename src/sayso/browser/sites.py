"""Spoken site names to URLs: "wikipedia" -> https://wikipedia.org, "bbc news" -> bbc.co.uk/news.

A small table that is easy to edit (``SITES``), then spoken forms of addresses ("stackoverflow
dot com"), then a ``.com`` fallback ("the verge" -> theverge.com). The result still goes through
the URL policy before it reaches the browser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote_plus

SITES: dict[str, str] = {
    "google": "google.com",
    "duckduckgo": "duckduckgo.com",
    "duck duck go": "duckduckgo.com",
    "bing": "bing.com",
    "wikipedia": "wikipedia.org",
    "youtube": "youtube.com",
    "amazon": "amazon.com",
    "ebay": "ebay.com",
    "reddit": "reddit.com",
    "github": "github.com",
    "gmail": "mail.google.com",
    "google maps": "maps.google.com",
    "maps": "maps.google.com",
    "news": "news.google.com",
    "google news": "news.google.com",
    "hacker news": "news.ycombinator.com",
    "stack overflow": "stackoverflow.com",
    "stackoverflow": "stackoverflow.com",
    "the guardian": "theguardian.com",
    "guardian": "theguardian.com",
    "bbc": "bbc.co.uk",
    "bbc news": "bbc.co.uk/news",
    "the bbc": "bbc.co.uk",
    "new york times": "nytimes.com",
    "the new york times": "nytimes.com",
    "nyt": "nytimes.com",
    "washington post": "washingtonpost.com",
    "the washington post": "washingtonpost.com",
    "weather": "weather.com",
    "imdb": "imdb.com",
    "netflix": "netflix.com",
    "spotify": "open.spotify.com",
    "twitter": "x.com",
    "x": "x.com",
    "facebook": "facebook.com",
    "instagram": "instagram.com",
    "linkedin": "linkedin.com",
    "python docs": "docs.python.org",
    "python": "python.org",
    "openstreetmap": "openstreetmap.org",
    "open street map": "openstreetmap.org",
    "wiktionary": "wiktionary.org",
    "archive": "archive.org",
    "internet archive": "archive.org",
}

_SPOKEN = (
    (re.compile(r"\s+dot\s+"), "."),
    (re.compile(r"\s+slash\s+"), "/"),
    (re.compile(r"\s+colon\s+"), ":"),
)
_LEADING = re.compile(r"^(?:please\s+)?(?:(?:go|navigate)\s+to|open|visit|bring\s+up|show\s+me|load)\s+", re.I)
_TRAILING = re.compile(r"\s+(?:website|web\s*site|site|page|homepage|home\s+page)$", re.I)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_LOCAL = re.compile(r"^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])(?::\d+)?(?:[/?#]|$)")


def site_url(text: str, extra: Mapping[str, str] | None = None) -> str:
    """A URL for what the user said; schemes the user wrote are kept (the policy judges them).

    ``extra`` (the ``browser_sites`` setting) adds or overrides spoken names.
    """
    if extra:
        key = " ".join(text.strip().lower().split())
        key = _TRAILING.sub("", _LEADING.sub("", key).strip(" .!?"))
        for name, address in extra.items():
            if " ".join(name.lower().split()) == key:
                return address if _SCHEME.match(address) and "://" in address else "https://" + address
    said = " ".join(text.strip().split())
    if _SCHEME.match(said) and not re.match(r"^[\w.-]+:\d+", said):
        return said  # "https://...", "javascript:...": kept as written, the policy decides
    said = _LEADING.sub("", said).strip(" .!?")
    key = said.lower()
    key = re.sub(r"^the\s+", "the ", key)
    if key in SITES:
        return "https://" + SITES[key]
    key = _TRAILING.sub("", key)
    if key in SITES:
        return "https://" + SITES[key]
    for pattern, repl in _SPOKEN:
        key = pattern.sub(repl, key)
    if _LOCAL.match(key):
        return "http://" + key
    host = key.split("/")[0]
    if "." in host and " " not in host:
        return "https://" + key
    bare = re.sub(r"^the\s+", "", key)
    if bare in SITES:
        return "https://" + SITES[bare]
    slug = re.sub(r"[^a-z0-9-]", "", key.replace(" ", ""))
    return f"https://{slug}.com" if slug else ""


def search_url(engine: str, query: str) -> str:
    """The search engine URL (with ``{query}``) filled in; the query is URL-encoded."""
    return engine.replace("{query}", quote_plus(query.strip()))
