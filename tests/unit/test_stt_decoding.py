"""The short-window decoders' guards: a token budget and the immediate-repeat cut."""

from __future__ import annotations

import numpy as np

from sayso.stt import decoding
from sayso.stt.moonshine import LEAD_S, TRAIL_S, detokenize, frame_speech
from sayso.types import SAMPLE_RATE


def test_token_cap_grows_with_the_audio() -> None:
    # faster-whisper's short window: prompt + 6 + 6 per second; Moonshine: 6.5 per second
    assert decoding.token_cap(2.0, per_s=6, base=6) == 18
    assert decoding.token_cap(1.1, per_s=6.5) == 8
    assert decoding.token_cap(0.0, per_s=6.5) == 4  # never below a short word's worth
    assert decoding.token_cap(30.0, per_s=6.5) == 195


def test_a_looping_phrase_is_cut_to_one_occurrence() -> None:
    go, to, amazon = 10, 11, 12
    assert decoding.cut_repeat([go, to, go, to, go, to]) == [go, to]
    assert decoding.cut_repeat([go, to, amazon, go, to, amazon, go]) == [go, to, amazon]
    assert decoding.cut_repeat([5, 7, 7, 7, 7, 9]) == [5, 7]  # one token three times


def test_normal_text_is_kept_whole() -> None:
    # "open the the guardian": a doubled single token is speech, not a loop
    tokens = [1, 2, 3, 3, 4, 5, 6, 2, 3]
    assert decoding.cut_repeat(tokens) == tokens
    assert decoding.repeat_at_end(tokens) == len(tokens)
    assert decoding.cut_repeat([]) == []


def test_repeat_at_end_says_how_much_to_keep() -> None:
    assert decoding.repeat_at_end([1, 2, 3, 2, 3]) == 3
    assert decoding.repeat_at_end([1, 2, 3, 4]) == 4


def test_moonshine_framing_keeps_a_little_before_and_zeros_after() -> None:
    rng = np.random.default_rng(0)
    speech = (rng.standard_normal(SAMPLE_RATE) * 0.3).astype(np.float32)
    quiet = np.zeros(SAMPLE_RATE // 2, np.float32)
    framed = frame_speech(np.concatenate([quiet, speech, quiet]))
    expected = int(LEAD_S * SAMPLE_RATE) + speech.size + int(TRAIL_S * SAMPLE_RATE)
    assert abs(framed.size - expected) <= SAMPLE_RATE // 100
    assert not framed[-int(TRAIL_S * SAMPLE_RATE):].any()


def test_moonshine_tokens_become_words() -> None:
    tokens = [b"<unk>", b"<s>", b"</s>", "\u2581page".encode(), "\u2581down".encode(), b"."]
    assert detokenize(tokens, [3, 4, 5]) == "page down."
    assert detokenize(tokens, [1, 3, 2]) == "page"  # special tokens never reach the text
