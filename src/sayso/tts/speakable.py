"""Make text speakable: no markdown, URLs read as their site name, numbers and units natural.

``speakable(text)`` is applied to each sentence just before synthesis; the sentence splitter
works on the raw text (so list markers and URLs still tell it where sentences end). Numbers
themselves are read by the voices' own espeak-ng front end ("3.5" -> "three point five");
this module only rewrites what that front end gets wrong: thousands separators, units and
symbols, ranges, currency, abbreviations read letter by letter.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

# second-level suffixes: bbc.co.uk -> "bbc", not "co"
_MULTI_SUFFIX = {"co.uk", "org.uk", "ac.uk", "gov.uk", "co.jp", "com.au", "net.au", "org.au",
                 "co.nz", "co.in", "com.br", "co.za", "com.cn", "com.mx", "co.kr"}
_SUBDOMAINS = {"www", "www2", "m", "mobile", "en", "amp", "web"}

_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.S)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.M)
_QUOTE = re.compile(r"^\s{0,3}>\s?", re.M)
_BULLET = re.compile(r"^\s*[-*+•]\s+", re.M)
_RULE = re.compile(r"^\s*([-*_]\s*){3,}$", re.M)
_EMPH = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}.*$", re.M)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.I)
_EMAIL = re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b")
_BARE_DOMAIN = re.compile(r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)*)\.(com|org|net|io|dev|ai|co|uk|de|fr|gov|edu)\b", re.I)
_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b")
_RANGE = re.compile(r"\b(\d+(?:\.\d+)?)\s?[-–]\s?(\d+(?:\.\d+)?)\b")
_CURRENCY = re.compile(r"([$£€¥])\s?(\d[\d,]*(?:\.\d+)?)(\s?(?:k|m|bn|million|billion|thousand)\b)?", re.I)
_PERCENT = re.compile(r"(\d)\s?%")
_TEMP = re.compile(r"(\d)\s?°\s?([CF])\b")
_DEGREE = re.compile(r"(\d)\s?°")
_EMOJI_CATS = {"So", "Cs", "Co", "Cn"}

_CURRENCY_NAMES = {"$": "dollars", "£": "pounds", "€": "euros", "¥": "yen"}
_UNITS = {
    "km/h": "kilometres per hour", "mph": "miles per hour", "m/s": "metres per second",
    "km": "kilometres", "cm": "centimetres", "mm": "millimetres", "m": "metres",
    "kg": "kilograms", "g": "grams", "mg": "milligrams", "lb": "pounds", "lbs": "pounds",
    "ml": "millilitres", "l": "litres", "ms": "milliseconds", "s": "seconds", "sec": "seconds",
    "min": "minutes", "h": "hours", "hr": "hours", "hrs": "hours",
    "kb": "kilobytes", "mb": "megabytes", "gb": "gigabytes", "tb": "terabytes",
    "khz": "kilohertz", "mhz": "megahertz", "ghz": "gigahertz", "hz": "hertz",
    "kw": "kilowatts", "kwh": "kilowatt hours", "w": "watts", "v": "volts",
    "ft": "feet", "in": "inches", "mi": "miles", "oz": "ounces",
}
_UNIT_RE = re.compile(
    r"(\d)\s?(" + "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True)) + r")\b(?!\.\w)",
    re.I,
)
_WORDS = {
    "e.g.": "for example", "i.e.": "that is", "etc.": "et cetera", "vs.": "versus", "vs": "versus",
    "approx.": "approximately", "&": "and", "w/": "with", "w/o": "without",
}
_WORDS_RE = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in _WORDS) + r")(?!\w)", re.I)


def site_name(url: str) -> str:
    """The name a person would say for a URL: https://en.wikipedia.org/wiki/X -> 'wikipedia'."""
    raw = url if "://" in url else "http://" + url
    try:
        host = (urlsplit(raw).hostname or "").lower()
    except ValueError:
        return ""
    labels = [p for p in host.split(".") if p]
    if not labels:
        return ""
    if len(labels) >= 3 and ".".join(labels[-2:]) in _MULTI_SUFFIX:
        labels = labels[:-2]
    elif len(labels) >= 2:
        labels = labels[:-1]
    while len(labels) > 1 and labels[0] in _SUBDOMAINS:
        labels = labels[1:]
    if len(labels) > 1:
        labels = labels[-1:]
    if re.fullmatch(r"[\d.]+", host):
        return "a local address"
    return labels[0].replace("-", " ")


def _strip_markdown(text: str) -> str:
    text = _CODE_BLOCK.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _RULE.sub("", text)
    text = _TABLE_SEP.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)
    for _ in range(2):
        text = _EMPH.sub(r"\2", text)
    return text.replace("|", ", ")


def _unit(m: re.Match[str]) -> str:
    return f"{m.group(1)} {_UNITS[m.group(2).lower()]}"


def _currency(m: re.Match[str]) -> str:
    amount = m.group(2).replace(",", "")
    scale = (m.group(3) or "").strip().lower()
    scale = {"k": "thousand", "m": "million", "bn": "billion"}.get(scale, scale)
    name = _CURRENCY_NAMES[m.group(1)]
    return f"{amount} {scale + ' ' if scale else ''}{name}"


def _drop_emoji(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) not in _EMOJI_CATS or ch in "°")


def speakable(text: str) -> str:
    """Rewrite ``text`` so a TTS voice reads it the way a person would say it."""
    text = unicodedata.normalize("NFKC", text)
    text = _strip_markdown(text)
    text = _URL.sub(lambda m: site_name(m.group(0)) or "a link", text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)} at {m.group(2).replace('.', ' dot ')}", text)
    text = _BARE_DOMAIN.sub(lambda m: f"{m.group(1).replace('.', ' dot ')} dot {m.group(2).lower()}", text)
    text = _CURRENCY.sub(_currency, text)
    text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    text = _TEMP.sub(lambda m: f"{m.group(1)} degrees {'Celsius' if m.group(2) == 'C' else 'Fahrenheit'}", text)
    text = _DEGREE.sub(r"\1 degrees", text)
    text = _PERCENT.sub(r"\1 percent", text)
    text = _RANGE.sub(r"\1 to \2", text)
    text = _UNIT_RE.sub(_unit, text)
    text = _WORDS_RE.sub(lambda m: _WORDS[m.group(1).lower()], text)
    text = _drop_emoji(text)
    text = re.sub(r"[*#_~`<>{}\[\]\\^]", " ", text)
    text = re.sub(r"(?<=[\w)])[ \t]*\n\s*", ". ", text)  # a line without punctuation ends
    text = re.sub(r"\s*\n\s*", " ", text)
    return re.sub(r"\s{2,}", " ", text).strip()
