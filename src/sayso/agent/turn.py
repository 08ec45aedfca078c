"""One turn from text: fast path or LLM, tools, reply. Orchestration only.

1. What can be decided locally is (``recognise.understand``: a reference to the page, a fast-path
   command, a misheard name recovered by sound): ``intent-end`` with ``local=true``, the tools
   run, the browser's own sentence is the reply. A doubtful transcript or a weak match is never
   acted on: one question ("Did you mean Wikipedia?"), and the call runs on "yes".
2. Otherwise the LLM decides, constrained by the tool contract (``sayso.tools.decision_format``):
   one tool-call JSON object, or the answer in plain text (where the backend has grammars; else a
   JSON ``answer``). The first character tells which: an answer is streamed out as it is written
   (``intent-end`` at its first token, ``reply-text`` deltas, spoken from its first clause). A tool's result goes back to the
   model when it failed or when the request asked for more ("... and then ..."), for at most
   ``MAX_ROUNDS`` rounds. The model may open only an address the user said, a known site or a
   link on the page (``Vocabulary.allows_url``); any other address is refused as made up.
3. ``summarize_page`` gets the page's main text from the browser and asks the LLM for a short
   spoken summary (the text is fenced as untrusted data); ``read_page`` reads the text itself.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sayso import tools
from sayso.agent import prompts
from sayso.agent.conversation import Conversation
from sayso.agent.echo import EchoGuard, leaks
from sayso.agent.phonetic import prepare_soon
from sayso.agent.recognise import REPEAT, understand
from sayso.agent.recognise import describe as describe_guess
from sayso.agent.vocabulary import Vocabulary
from sayso.browser.base import Browser, BrowserState
from sayso.config import Settings
from sayso.errors import LlmError, SaysoError, ToolArgsError
from sayso.events import ActionRecord
from sayso.llm.base import Llm
from sayso.tools import ANSWER, decision_format, describe
from sayso.types import ChatMessage, ToolCall, ToolResult

log = logging.getLogger(__name__)

MAX_ROUNDS = 3
SUMMARY_TOKENS = 160
NO_LLM = "I can only do simple browser commands right now, because the language model is not available."
NOT_UNDERSTOOD = "Sorry, I didn't understand that. Could you say it another way?"
LLM_DOWN = "My language model isn't answering; I can still run browser commands."
SUMMARY_DOWN = "My language model isn't answering, so I can't summarize; I can still read the page to you."
TOO_LONG = "That's too long for one command; please say it in a sentence or two."
DROPPED = "Okay, I won't."
INVENTED = ("I won't open {host}: you didn't say that address, and it isn't a site I know or a link on this page. "
            "Which site did you mean?")
# the URL policy refused the address (private/local, not http(s), user name or password, not a
# valid address): that sentence is the answer; the model gets no second try (it used to go on to
# some other site, and the user heard about that instead)
REFUSALS = frozenset({"url.private", "url.unsafe", "url.invalid"})
GUESS_ID = "did-you-mean"  # a pending call from "Did you mean ...?": "yes" runs it, unconfirmed
MAX_COMMAND_CHARS = 1000  # a spoken command is a sentence or two; longer text is refused
_YES = re.compile(r"^(?:yes|yeah|yep|yup|sure|ok|okay|confirm|correct|do it|go ahead|press it|please do|"
                  r"go for it|yes please|yes do it|yes go ahead|yes press it|that's right)\b[\s,.!]*(?:please)?[\s.!]*$")
_NO = re.compile(r"^(?:no|nope|don't|do not|cancel|never mind|nevermind|stop|no thanks|no thank you|"
                 r"don't do it|do not do it|leave it)\b[\s,.!]*(?:thanks)?[\s.!]*$")
_MORE = re.compile(r"\b(?:and then|then|and|after that|also)\b")

Emit = Callable[..., None]  # emit(event_type, **data)
Say = Callable[[str], None]  # reply text out (shown and spoken)


@dataclass
class TurnOutcome:
    """What a turn has heard, done and said so far (the session makes its TurnSummary)."""

    transcript: str
    reply: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)
    local: bool = False
    state: BrowserState | None = None
    pending: ToolCall | None = None  # an action waiting for the user's "yes" (confirm.required)
    # the user message as sent to the model (page context included), kept as history verbatim
    # so the next turn's prompt starts with this one's (llama.cpp's prefix cache)
    said: str = ""


def confirmation(text: str) -> str | None:
    """'yes', 'no' or None: the user's answer to "Should I press ...?"."""
    t = " ".join(text.lower().replace("’", "'").split())
    if _YES.match(t):
        return "yes"
    if _NO.match(t):
        return "no"
    return None


class AnswerStream:
    """The answer text of a reply while it is still being written: plain text from its first
    character (``tool`` is ``answer`` at once), or pulled out of ``{"tool": "answer", ...}``
    (a backend without grammars). A reply that starts with ``{`` is a tool call."""

    _TOOL = re.compile(r'^\s*\{\s*"tool"\s*:\s*"([a-z_]+)"')
    _TEXT = re.compile(r'"args"\s*:\s*\{\s*"text"\s*:\s*"')
    _ESC = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "b": "", "f": "", "r": ""}

    def __init__(self) -> None:
        self.tool = ""
        self.plain = False
        self._sent = 0

    def feed(self, buf: str) -> str:
        """The new answer text since the last call ('' when none or not an answer)."""
        if not self.tool and (head := buf.lstrip()):
            self.plain = not head.startswith(("{", "`"))
            if self.plain:
                self.tool = ANSWER
        if self.plain:
            text = buf.lstrip()
            delta, self._sent = text[self._sent:], len(text)
            return delta
        if not self.tool:
            m = self._TOOL.match(buf)
            if not m or not buf[m.end():].lstrip().startswith(","):
                return ""
            self.tool = m.group(1)
        if self.tool != ANSWER:
            return ""
        m = self._TEXT.search(buf)
        if not m:
            return ""
        text = self._decode(buf, m.end())
        delta, self._sent = text[self._sent:], len(text)
        return delta

    def _decode(self, buf: str, i: int) -> str:
        out: list[str] = []
        while i < len(buf):
            ch = buf[i]
            if ch == '"':
                break
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            if i + 1 >= len(buf):
                break  # an escape cut in half: wait for the rest
            nxt = buf[i + 1]
            if nxt == "u":
                if i + 6 > len(buf):
                    break
                try:
                    out.append(chr(int(buf[i + 2:i + 6], 16)))
                except ValueError:
                    pass
                i += 6
                continue
            out.append(self._ESC.get(nxt, nxt))
            i += 2
        return "".join(out)


def parse_decision(text: str) -> ToolCall | str | None:
    """The model's reply: a ToolCall (JSON), the answer text (plain text, or JSON ``answer``), or
    None when unreadable (empty, or broken JSON)."""
    head = text.strip()
    if head and not head.startswith(("{", "`")):
        return head
    try:
        data = json.loads(text.strip().removeprefix("```json").removesuffix("```"))
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    tool = str(data.get("tool", ""))
    args = data.get("args") if isinstance(data.get("args"), dict) else {}
    if tool == ANSWER:
        return str(args.get("text", "")).strip()
    return ToolCall(name=tool, args=args) if tool else None


class Turn:
    """Runs one turn; reports through ``emit`` and ``say``; returns what happened."""

    def __init__(
        self,
        *,
        settings: Settings,
        llm: Llm | None,
        browser: Browser | None,
        conversation: Conversation,
        emit: Emit,
        say: Say,
        page: BrowserState | None = None,
        dry_run: bool = False,
        use_fastpath: bool = True,
        pending: ToolCall | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.settings = settings
        self.vocab = vocabulary if vocabulary is not None else Vocabulary()
        self.pending = pending  # the action the last turn asked to confirm
        self.use_fastpath = use_fastpath
        self.llm = llm
        self.browser = browser
        self.conversation = conversation
        self.emit = emit
        self.say = say
        self.page = page or BrowserState()
        self.vocab.update(self.page)
        self.dry_run = dry_run
        self._intent_sent = False
        self.out = TurnOutcome(transcript="")  # filled as the turn goes (kept if it is cancelled)

    async def run(self, text: str, *, doubtful: bool = False) -> TurnOutcome:
        """One turn. ``doubtful``: the speech stage was unsure of ``text`` (ask, never act on it)."""
        out = self.out = TurnOutcome(transcript=text)
        out.said = prompts.user_turn(text, url=self.page.url, title=self.page.title).content
        if len(text) > MAX_COMMAND_CHARS:
            self._intent(local=True, tools=[])
            self._say_all(out, TOO_LONG)
            return out
        if self.pending is not None and (answer := confirmation(text)) is not None:
            call, self.pending = self.pending, None
            out.local = True
            if answer == "no":
                self._intent(local=True, tools=[])
                self._say_all(out, DROPPED)
                return out
            self._intent(local=True, tools=[call.name])
            result = await self._execute(call, out, confirmed=call.id != GUESS_ID)
            self._say_all(out, await self._reply_for(call, result, out))
            return out
        local = understand(text, self.vocab, doubtful=doubtful) if self.use_fastpath else None
        if local is not None and local.question:
            self._intent(local=True, tools=[])
            out.local = True
            if local.pending is not None:
                out.pending = ToolCall(name=local.pending.name, args=dict(local.pending.args), id=GUESS_ID)
            self._say_all(out, local.question)
            return out
        if local is not None:
            out.local = True
            self._intent(local=True, tools=[c.name for c in local.calls])
            replies = []
            for call in local.calls:
                result = await self._execute(call, out)
                replies.append(await self._reply_for(call, result, out))
                if not result.ok:
                    break
            self._say_all(out, " ".join(r for r in replies if r))
            return out
        if doubtful:  # nothing local fits words heard with low confidence: not for the LLM either
            self._intent(local=True, tools=[])
            self._say_all(out, REPEAT)
            return out
        if self.llm is None:
            self._intent(local=False, tools=[])
            self._say_all(out, NO_LLM)
            return out
        await self._llm_rounds(text, out)
        return out

    def first_request(self, text: str) -> tuple[list[ChatMessage], dict[str, Any]] | None:
        """The LLM request this turn would start with for ``text`` (messages, chat keyword
        arguments), or None when it would not ask the LLM first (decided locally, a
        confirmation, too long, no LLM). The assistant starts it early, while the user is
        still silent."""
        text = text.strip()
        if (not text or len(text) > MAX_COMMAND_CHARS or self.llm is None
                or (self.pending is not None and confirmation(text) is not None)
                or (self.use_fastpath and understand(text, self.vocab) is not None)):
            return None
        said = prompts.user_turn(text, url=self.page.url, title=self.page.title).content
        return self._decision_messages(said), self._decision_kwargs()

    # LLM -----------------------------------------------------------------------------------
    def _decision_messages(self, said: str) -> list[ChatMessage]:
        # fixed prefix, then history exactly as sent before, then this turn's message (the only
        # one with volatile page context): each prompt extends the previous turn's
        return [*prompts.decision_prefix(), *self.conversation.context(), ChatMessage(role="user", content=said)]

    def _decision_kwargs(self) -> dict[str, Any]:
        return {"response_format": decision_format(), "max_tokens": self.settings.llm_max_tokens}

    async def _llm_rounds(self, text: str, out: TurnOutcome) -> None:
        messages = self._decision_messages(out.said or prompts.user_turn(text).content)
        wants_more = bool(_MORE.search(text))
        last: ToolResult | None = None
        for round_no in range(MAX_ROUNDS):
            try:
                decision, streamed = await self._decide(messages, round_no, out)
            except LlmError as exc:
                log.warning("the LLM failed: %s", exc.one_line())
                self.emit("error", code=exc.code, message=LLM_DOWN)
                self._intent(local=False, tools=[])
                self._say_all(out, last.message if last else LLM_DOWN)
                return
            if isinstance(decision, str) or decision is None:
                if decision is None and not streamed:
                    self._intent(local=False, tools=[])
                    self._say_all(out, last.message if last else NOT_UNDERSTOOD)
                elif isinstance(decision, str) and not decision and not streamed and last:
                    self._say_all(out, last.message)
                return
            if any(c.name == decision.name and dict(c.args) == dict(decision.args) for c in out.calls):
                self._say_all(out, last.message if last else NOT_UNDERSTOOD)  # a loop: stop here
                return
            self._intent(local=False, tools=[decision.name])
            if (refused := self._invented(decision, text, out)) is not None:
                self._say_all(out, refused)
                return
            result = await self._execute(decision, out)
            last = result
            if result.error_code == "confirm.required" or result.error_code in REFUSALS:
                self._say_all(out, result.message)  # ask the user / say why not: not the model's turn
                return
            more = wants_more and result.ok and _reply_kind(decision.name) == "message"
            if (result.ok and not more) or round_no == MAX_ROUNDS - 1:
                self._say_all(out, await self._reply_for(decision, result, out))
                return
            messages.append(ChatMessage(role="assistant", content=json.dumps(
                {"tool": decision.name, "args": dict(decision.args)})))
            messages.append(prompts.tool_feedback(decision.name, result.ok, result.message, more=more))

    async def _decide(self, messages: list[ChatMessage], round_no: int,
                      out: TurnOutcome) -> tuple[ToolCall | str | None, bool]:
        """One constrained LLM call. Returns (decision, whether answer text was streamed)."""
        assert self.llm is not None
        buf, stream, first, usage = "", AnswerStream(), True, {}
        streamed = False
        guard = EchoGuard()  # none of our prompt's text may be said
        async for chunk in self.llm.chat(messages, **self._decision_kwargs()):
            if first and chunk.text:
                first = False
                self.emit("llm-first-token", round=round_no)
            buf += chunk.text
            delta = stream.feed(buf)
            if stream.tool == ANSWER:
                self._intent(local=False, tools=[])
            if delta and (delta := guard.feed(delta)):
                streamed = True
                self._stream_reply(out, delta)
            if chunk.done:
                usage = dict(chunk.usage)
        if stream.tool == ANSWER and (rest := guard.finish()):
            streamed = True
            self._stream_reply(out, rest)
        self.emit("llm-end", round=round_no, **_usage_summary(usage))
        decision = parse_decision(buf)
        if guard.leaked or (isinstance(decision, str) and leaks(decision)):
            decision = None  # what was said before the echo stands; the echo is not an answer
        if decision is None and streamed:
            decision = ""  # cut short (max tokens) after speaking: what was said stands
        log.debug("LLM round %d decided %s", round_no, decision)
        return decision, streamed

    async def _summarize(self, page_text: str, out: TurnOutcome) -> str:
        if not page_text.strip():
            return "This page has no text to summarize."
        if self.llm is None:
            return "I can't summarize without the language model. " + prompts.clean(page_text, 300)
        said = ""
        first = True
        guard = EchoGuard()
        try:
            async for chunk in self.llm.chat(prompts.summary_messages(page_text, title=self.page.title),
                                             max_tokens=SUMMARY_TOKENS):
                if first and chunk.text:
                    first = False
                    self.emit("llm-first-token", round="summary")
                if chunk.text and (text := guard.feed(chunk.text)):
                    said += text
                    self._stream_reply(out, text)
                if chunk.done:
                    self.emit("llm-end", round="summary", **_usage_summary(chunk.usage))
            if rest := guard.finish():
                said += rest
                self._stream_reply(out, rest)
        except LlmError as exc:
            log.warning("the LLM failed to summarize: %s", exc.one_line())
            self.emit("error", code=exc.code, message=SUMMARY_DOWN)
            return "" if said else SUMMARY_DOWN
        if not said and guard.leaked:
            return "I couldn't summarize this page; I can read it to you instead."
        return ""  # already streamed

    def _invented(self, call: ToolCall, text: str, out: TurnOutcome) -> str | None:
        """The sentence refusing (or asking about) an address the model made up; None when allowed."""
        if call.name not in ("navigate", "new_tab"):
            return None
        try:
            url = str(tools.validate(call).args.get("url") or "")
        except ToolArgsError:
            return None  # refused anyway, with its own sentence, when it runs
        if not url or self.vocab.allows_url(url, text):
            return None
        if self.vocab.said_name_of(url, text):  # "open the verge" -> theverge.com: likely, but ask
            out.pending = ToolCall(name=call.name, args=dict(call.args), id=GUESS_ID)
            return f"Did you mean {describe_guess(call, text)}?"
        host = describe_guess(call, text)
        log.info("refused an address the model made up (%d chars)", len(url))
        self.emit("tool-start", tool=call.name, args=dict(call.args))
        message = INVENTED.format(host=host)
        self._record(call, ToolResult(tool=call.name, ok=False, message=message, error_code="url.invented"), out)
        return message

    # tools ---------------------------------------------------------------------------------
    async def _execute(self, raw: ToolCall, out: TurnOutcome, *, confirmed: bool = False) -> ToolResult:
        try:
            # untrusted: drops any "confirmed" a model may have written; only the user's own
            # "yes" to the question sets it
            call = tools.validate(raw)
            if confirmed:
                call = tools.validate(ToolCall(call.name, {**call.args, "confirmed": True}, call.id), trusted=True)
        except ToolArgsError as exc:
            self.emit("tool-start", tool=raw.name, args=dict(raw.args))
            result = ToolResult(tool=raw.name, ok=False, message=exc.message, error_code=exc.code)
            self._record(raw, result, out)
            return result
        spec = tools.BY_NAME[call.name]
        self.emit("tool-start", tool=call.name, args=dict(call.args))
        if not spec.browser:
            result = ToolResult(tool=call.name, ok=True, message="")
        elif self.dry_run:
            result = ToolResult(tool=call.name, ok=True, message=f"I would {describe(call)}.",
                                data={"dry_run": True})
        elif self.browser is None:
            result = ToolResult(tool=call.name, ok=False, error_code="browser.unavailable",
                                message="The browser is not available, so I can't do that.")
        else:
            try:
                result = await self.browser.execute(call)
            except SaysoError as exc:
                result = ToolResult(tool=call.name, ok=False, message=exc.message, error_code=exc.code)
            except Exception as exc:  # a stage boundary: the turn goes on
                log.exception("browser failed on %s", call.name)
                result = ToolResult(tool=call.name, ok=False, error_code="browser.failed",
                                    message=f"The browser failed ({type(exc).__name__}).")
        self._record(call, result, out)
        if result.error_code == "confirm.required":
            out.pending = ToolCall(name=call.name, args={k: v for k, v in call.args.items() if k != "confirmed"},
                                   id=call.id)
        if result.ok and call.name == "click" and "index" in call.args:  # for "the next one"
            self.vocab.last_pick = (self.page.url, int(call.args["index"]))
        if self.browser is not None and not self.dry_run and spec.browser:
            await self._state(out)
        return result

    def _record(self, call: ToolCall, result: ToolResult, out: TurnOutcome) -> None:
        out.calls.append(call)
        out.actions.append(ActionRecord(tool=call.name, args=dict(call.args),
                                        ok=None if result.data.get("dry_run") else result.ok,
                                        error=None if result.ok else result.message,
                                        message=result.message, error_code=result.error_code))
        self.emit("tool-end", tool=call.name, ok=result.ok, message=result.message,
                  error_code=result.error_code)

    async def _state(self, out: TurnOutcome) -> None:
        assert self.browser is not None
        try:
            state = await self.browser.state()
        except Exception as exc:  # the state is for display only
            log.warning("browser state unavailable: %s", exc)
            return
        self.page = out.state = state
        self.emit("browser-state", url=state.url, title=state.title, tabs=[asdict(t) for t in state.tabs])
        self.vocab.update(state)
        prepare_soon(self.vocab)  # the new page's names, sounded out once, in the background

    async def _reply_for(self, call: ToolCall, result: ToolResult, out: TurnOutcome) -> str:
        if not result.ok or result.data.get("dry_run"):
            return result.message
        kind = _reply_kind(call.name)
        if kind == "summary":
            return await self._summarize(str(result.data.get("text", "")), out)
        if kind == "silent":
            return ""
        return result.message  # read_page: the part of the page the browser chose to read

    # output --------------------------------------------------------------------------------
    def _intent(self, *, local: bool, tools: list[str]) -> None:
        if not self._intent_sent:
            self._intent_sent = True
            self.emit("intent-end", local=local, tools=tools)

    def _stream_reply(self, out: TurnOutcome, delta: str) -> None:
        out.reply += delta
        self.say(delta)

    def _say_all(self, out: TurnOutcome, text: str) -> None:
        text = text.strip()
        if text:
            sep = " " if out.reply and not out.reply.endswith(" ") else ""
            self._stream_reply(out, sep + text)


def _reply_kind(name: str) -> tools.Reply:
    spec = tools.get(name)
    return spec.reply if spec else "message"


def _usage_summary(usage: dict[str, Any]) -> dict[str, Any]:
    t = usage.get("timings") or {}
    return {
        "prompt_tokens": usage.get("prompt_tokens", t.get("prompt_n", 0)),
        "cached_tokens": t.get("cache_n", (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)),
        "completion_tokens": usage.get("completion_tokens", t.get("predicted_n", 0)),
        "prompt_ms": round(float(t.get("prompt_ms", usage.get("prompt_ms", 0.0)) or 0.0), 1),
        "predicted_ms": round(float(t.get("predicted_ms", usage.get("predicted_ms", 0.0)) or 0.0), 1),
    }
