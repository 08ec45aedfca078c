"""What the user meant, decided locally from the words and the page, or asked about.

The order is the order of certainty:

1. a reference to the page ("the second one", "show me the pricing page") - :mod:`references`;
2. an exact fast-path command ("scroll down", "open wikipedia") - :mod:`fastpath`;
3. a misheard name recovered by sound ("page count" -> "page down") - :mod:`phonetic`.

Nothing here acts on a guess: a weak or tied recovery of a name after a verb ("go to ..."), a
weak match of a whole command when the words were heard with low confidence, and anything at
all heard with low confidence (``doubtful``), becomes one question ("Did you mean Wikipedia?") whose ``pending``
call runs when the user says yes. ``None`` means nothing local fits: the LLM decides (or, for a
doubtful transcript, the user is asked to repeat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sayso.agent import fastpath, phonetic, references
from sayso.agent.vocabulary import Vocabulary
from sayso.types import ToolCall

REPEAT = "Sorry, could you repeat that?"


@dataclass(frozen=True, slots=True)
class Understanding:
    """Calls to run now, or a question (with the call to run on "yes")."""

    calls: list[ToolCall] = field(default_factory=list)
    question: str = ""
    pending: ToolCall | None = None
    source: str = ""  # "reference" | "fastpath" | "phonetic"
    pick: int | None = None  # "the Nth one" chosen from a list (for "the next one")


def describe(call: ToolCall, heard: str) -> str:
    """How to name ``call`` in "Did you mean ...?"."""
    args = call.args
    if call.name in ("navigate", "new_tab") and args.get("url"):
        url = str(args["url"])
        host = urlsplit(url if "://" in url else "https://" + url).hostname or url
        return host.removeprefix("www.")
    if call.name == "click" and "index" in args:
        return f"number {args['index']}"
    if call.name == "click" and args.get("text"):
        return f"'{args['text']}'"
    return f"'{heard}'"


def _ask(call: ToolCall, heard: str, source: str, pick: int | None = None) -> Understanding:
    return Understanding(question=f"Did you mean {describe(call, heard)}?", pending=call, source=source, pick=pick)


def understand(text: str, vocab: Vocabulary, *, doubtful: bool = False,
               use_fastpath: bool = True) -> Understanding | None:
    """The local decision for ``text`` on the current page, a question, or None (the LLM's turn)."""
    norm = fastpath.normalise(text)
    if not norm:
        return None
    planned = fastpath.plan(text) if use_fastpath else None
    ref = references.resolve(norm, vocab, planned)
    if ref is not None:
        if ref.question:
            return Understanding(question=ref.question, source="reference")
        if not doubtful:
            return Understanding(calls=list(ref.calls), source="reference", pick=ref.pick)
        if len(ref.calls) == 1:
            return _ask(ref.calls[0], norm, "reference", ref.pick)
        return Understanding(question=REPEAT, source="reference")
    if planned is not None:
        if not doubtful or all(c.name == "stop" for c in planned):  # "stop" is never worth a question
            return Understanding(calls=list(planned), source="fastpath")
        if len(planned) == 1:
            return _ask(planned[0], norm, "fastpath")
        return Understanding(question=REPEAT, source="fastpath")
    guess = phonetic.recover(norm, vocab, raw=text) if use_fastpath else None
    if guess is None:
        return None
    if guess.sure and not doubtful:
        return Understanding(calls=[guess.call], source="phonetic")
    if guess.term.kind == "command" and not doubtful:
        return None  # clearly heard words only loosely like a command ("open the door"): the LLM's turn
    return Understanding(question=guess.question, pending=guess.call, source="phonetic")
