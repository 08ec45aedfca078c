"""The endpoint policy on text alone: how much trailing silence ends a turn, given the words."""

from __future__ import annotations

import pytest

from sayso.agent.fastpath import is_complete_command
from sayso.audio.endpoint import EndpointConfig, Words, classify, is_unfinished, silence_to_end

CFG = EndpointConfig(silence_ms=450, complete_ms=250, incomplete_ms=1200)


@pytest.mark.parametrize("text", [
    "search for", "Search for...", "what is the", "What is", "open google and", "go to",
    "tell me about", "who is", "how do I", "look up the", "Search for cheap-", "and then",
    "what's the capital of",
])
def test_an_unfinished_request_is_recognised(text: str) -> None:
    assert is_unfinished(text)
    assert classify(text, is_complete_command) is Words.UNFINISHED


@pytest.mark.parametrize("text", [
    "scroll down please", "who painted the mona lisa", "what time is it", "no", "yes do it",
    "tell me what time it is", "what can you help me with", "search for cheap flights", "zoom in",
    "what does it look like", "I think so",
])
def test_a_finished_sentence_is_not_unfinished(text: str) -> None:
    assert not is_unfinished(text) or is_complete_command(text)
    assert classify(text, is_complete_command) is not Words.UNFINISHED


def test_classify_complete_open_unknown() -> None:
    assert classify("Scroll down.", is_complete_command) is Words.COMPLETE
    assert classify("open youtube and scroll down", is_complete_command) is Words.COMPLETE
    assert classify("who painted the mona lisa", is_complete_command) is Words.OPEN
    assert classify("", is_complete_command) is Words.UNKNOWN
    assert classify(None) is Words.UNKNOWN
    assert classify("scroll down") is Words.OPEN  # no predicate: nothing is known complete


def test_silence_to_end_follows_the_words() -> None:
    assert silence_to_end(CFG, Words.COMPLETE, fresh=True, waiting=False) == 250
    assert silence_to_end(CFG, Words.OPEN, fresh=True, waiting=False) == 450
    assert silence_to_end(CFG, Words.UNFINISHED, fresh=True, waiting=False) == 1200
    # a stale "search for" (the last words not transcribed yet) still holds the turn open
    assert silence_to_end(CFG, Words.UNFINISHED, fresh=False, waiting=False) == 1200
    # a stale complete command never shortens the wait ("scroll down" ... "to the comments")
    assert silence_to_end(CFG, Words.COMPLETE, fresh=False, waiting=False) == 450
    # the transcript that decides is coming: wait for it, bounded
    assert silence_to_end(CFG, Words.UNKNOWN, fresh=False, waiting=True) == 1200
    assert silence_to_end(CFG, Words.COMPLETE, fresh=False, waiting=True) == 1200
    # no transcriber: silence alone
    assert silence_to_end(CFG, Words.UNKNOWN, fresh=False, waiting=False) == 450


def test_a_long_default_silence_is_never_shortened_by_waiting() -> None:
    slow = EndpointConfig(silence_ms=5000, complete_ms=250, incomplete_ms=1200)
    assert silence_to_end(slow, Words.UNKNOWN, fresh=False, waiting=True) == 5000
    assert silence_to_end(slow, Words.COMPLETE, fresh=True, waiting=False) == 250


def test_settings_feed_the_policy() -> None:
    from sayso.config import Settings

    cfg = EndpointConfig.from_settings(Settings(vad_silence_ms=500, vad_silence_complete_ms=200,
                                                vad_silence_incomplete_ms=900))
    assert (cfg.silence_ms, cfg.complete_ms, cfg.incomplete_ms) == (500, 200, 900)
