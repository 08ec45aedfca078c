"""The LLM base's policy with fake backends on virtual time: a model that never starts, stalls
mid-reply or trickles forever ends the turn with one clear ``llm.timeout``; its own failures
come out as ``LlmError``; closing the reply stops the backend. No real waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from sayso.config import load_settings
from sayso.errors import ConfigError, LlmError
from sayso.llm.base import BaseLlm
from sayso.types import ChatMessage, LlmChunk
from tests.fakes import VirtualTimeLoop

ASK = [ChatMessage("user", "What is the capital of France?")]


class Scripted(BaseLlm):
    """Yields its chunks after the given (virtual) delays; ``None`` = never answers."""

    name = "scripted"

    def __init__(self, delays: Sequence[float | None], *, allowance: float = 0.0,
                 fail: Exception | None = None) -> None:
        super().__init__(settings=load_settings(llm_timeout_s=30, llm_max_tokens=64))
        self.delays, self.allowance, self.fail = delays, allowance, fail
        self.closed = False

    def prompt_allowance_s(self, messages: Sequence[ChatMessage]) -> float:
        return self.allowance

    async def _chat_impl(self, messages: Sequence[ChatMessage], *,
                         response_format: Mapping[str, Any] | None, max_tokens: int) -> AsyncIterator[LlmChunk]:
        try:
            for i, delay in enumerate(self.delays):
                await (asyncio.Event().wait() if delay is None else asyncio.sleep(delay))
                if self.fail is not None:
                    raise self.fail
                yield LlmChunk(text=f"w{i} ")
            yield LlmChunk(done=True, finish_reason="stop")
        finally:
            self.closed = True


def run(llm: Scripted, *, stop_after: int | None = None) -> tuple[list[LlmChunk], float, LlmError | None]:
    """Reads the reply on a virtual clock: (chunks, virtual seconds, error)."""
    got: list[LlmChunk] = []

    async def read() -> LlmError | None:
        stream = llm.chat(ASK)
        try:
            async for chunk in stream:
                got.append(chunk)
                if stop_after is not None and len(got) == stop_after:
                    break
        except LlmError as err:
            return err
        finally:
            await stream.aclose()
        return None

    real = time.monotonic()
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        err = runner.run(read())
        elapsed = runner.get_loop().time()
    assert time.monotonic() - real < 5, "virtual time must not wait for real"
    return got, elapsed, err


def test_a_model_that_never_starts_gives_up_after_the_timeout() -> None:
    llm = Scripted([None])
    got, elapsed, err = run(llm)
    assert got == [] and err is not None
    assert err.code == "llm.timeout"
    assert err.message == "The language model did not answer within 30 s."
    assert elapsed == pytest.approx(30)
    assert llm.closed  # the backend was told to stop


def test_the_first_chunk_may_take_the_prompt_allowance_longer() -> None:
    got, elapsed, err = run(Scripted([38, 1], allowance=10))
    assert err is None and [c.text for c in got] == ["w0 ", "w1 ", ""] and got[-1].done
    assert elapsed == pytest.approx(39)
    _, elapsed, err = run(Scripted([None], allowance=10))
    assert err is not None and err.code == "llm.timeout" and elapsed == pytest.approx(40)


def test_a_model_that_stalls_mid_reply_ends_with_one_error() -> None:
    got, elapsed, err = run(Scripted([1, 2, None]))
    assert [c.text for c in got] == ["w0 ", "w1 "]
    assert err is not None and err.code == "llm.timeout"
    assert err.message == "The language model did not answer within 30 s (it stopped in the middle of a reply)."
    assert elapsed == pytest.approx(33)


def test_a_model_that_trickles_forever_still_ends() -> None:
    # a chunk every 20 s never trips the 30 s gap, the whole-reply budget does:
    # 30 s + 64 tokens at 2 tokens/s = 62 s
    got, elapsed, err = run(Scripted([20] * 100))
    assert len(got) == 3 and err is not None and err.code == "llm.timeout"
    assert err.message == "The language model did not finish its reply within 62 s."
    assert elapsed == pytest.approx(62)


def test_backend_failures_come_out_as_llm_errors_with_stable_codes() -> None:
    _, _, err = run(Scripted([1], fail=RuntimeError("socket closed")))
    assert err is not None and err.code == "llm.failed" and "socket closed" in err.message
    own = LlmError("The LLM server refused the API key.", code="llm.auth")
    _, _, err = run(Scripted([1], fail=own))
    assert err is own
    missing = ConfigError("The model file nope.gguf does not exist.", code="llm.model_missing")
    with pytest.raises(ConfigError):
        run(Scripted([1], fail=missing))


def test_closing_the_reply_early_stops_the_backend() -> None:
    llm = Scripted([1] * 10)
    got, elapsed, err = run(llm, stop_after=2)
    assert err is None and len(got) == 2 and elapsed == pytest.approx(2)
    assert llm.closed
