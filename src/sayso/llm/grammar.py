"""Either a tool call or plain text: the decision format, per backend.

The agent asks for its decision with ``sayso.tools.decision_format()``: the JSON schema of one
tool call or an ``answer`` object, plus :data:`OR_TEXT`, the schema of the tool calls alone. A
backend that can constrain output with a grammar lets the model write EITHER one tool-call JSON
object OR plain text that does not start with ``{`` (the answer itself, streamed and spoken
from its first token, no JSON wrapper around it):

- **embedded** (llama.cpp through xllamacpp, built with llguidance): :func:`or_text_grammar`, a
  Lark grammar ``start: toolcall | answer`` sent as the request's ``grammar``;
- **Ollama** and **openai_compat**: only a JSON schema (:func:`json_schema`, the key dropped), so
  an answer still comes as ``{"tool": "answer", "args": {"text": ...}}``; the agent reads both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

OR_TEXT = "x-sayso-or-text"
"""Key in a ``response_format``: the schema of the JSON alternative when plain text is allowed."""

# plain text: the first character is not '{' (nor a space), and no braces at all, so the first
# token tells a tool call from an answer
_TEXT = r"/[^{}\s][^{}]*/"


def json_schema(fmt: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The JSON schema alone (for backends without grammars): the :data:`OR_TEXT` key dropped."""
    if fmt is None:
        return None
    return {k: v for k, v in fmt.items() if k != OR_TEXT}


def or_text_grammar(fmt: Mapping[str, Any] | None) -> str | None:
    """llguidance's Lark grammar for 'a tool-call object or plain text'; None when ``fmt`` does
    not allow plain text."""
    if not fmt or OR_TEXT not in fmt:
        return None
    schema = json.dumps(fmt[OR_TEXT], separators=(",", ":"))
    return f"%llguidance {{}}\nstart: toolcall | answer\ntoolcall: %json {schema}\nanswer: {_TEXT}\n"
