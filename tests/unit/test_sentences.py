"""The streaming sentence splitter and speakable text: what the voice says, and when."""

from __future__ import annotations

import asyncio

import pytest

from sayso.tts.sentences import SentenceSplitter, split_sentences, split_text
from sayso.tts.speakable import site_name, speakable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith paid $3.50 for it. Then he left! Did he? Yes.",
         ["Dr. Smith paid $3.50 for it.", "Then he left!", "Did he?", "Yes."]),
        ("Version 2.0 is out... and it is fast. Visit https://www.example.com/a.html today. Ok",
         ["Version 2.0 is out... and it is fast.", "Visit https://www.example.com/a.html today.", "Ok"]),
        ("Here are the steps:\n1. Open the page.\n2. Click login.\n3. Done",
         ["Here are the steps:", "1. Open the page.", "2. Click login.", "3. Done"]),
        ("J. R. R. Tolkien wrote it, e.g. The Hobbit. It sold well.",
         ["J. R. R. Tolkien wrote it, e.g. The Hobbit.", "It sold well."]),
        ("Wait... What happened? \"He said no.\" Then we went home.",
         ["Wait...", "What happened?", "\"He said no.\"", "Then we went home."]),
        ("See item No. 5 on p. 12. It is good.", ["See item No. 5 on p. 12.", "It is good."]),
        ("It is 3.14 m long (about 10 ft.) Really.", ["It is 3.14 m long (about 10 ft.) Really."]),
    ],
)
def test_sentences_split_where_a_person_would_pause(text: str, expected: list[str]) -> None:
    assert split_text(text) == expected


def test_streaming_char_by_char_gives_the_same_sentences_as_whole_text() -> None:
    text = ("Sure. I found three results for vegan lasagna, e.g. one from bbc.co.uk. "
            "The first takes 45 min. Shall I open it?")
    splitter = SentenceSplitter(first_max_chars=10**6)
    out: list[str] = []
    for ch in text:
        out += splitter.push(ch)
    out += splitter.flush()
    assert out == split_text(text)


def test_a_sentence_is_released_as_soon_as_the_next_word_starts() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("Opening Google now.") == []  # could still be "now.com"
    assert splitter.push(" T") == ["Opening Google now."]
    assert splitter.flush() == ["T"]


def test_the_first_clause_is_released_once_it_has_a_few_words() -> None:
    splitter = SentenceSplitter()
    out: list[str] = []
    for ch in "Sure, the painting is by Leonardo, around 1503. It hangs in Paris, in the Louvre.":
        out += splitter.push(ch)
    out += splitter.flush()
    # "Sure," is too short to say alone; the first clause of 4+ words is; later sentences whole
    assert out == ["Sure, the painting is by Leonardo,", "around 1503.", "It hangs in Paris, in the Louvre."]
    late = SentenceSplitter()
    assert late.push("Yes, I can open it") == []
    assert late.push(",000") == []  # "1,000" is no clause: it ends only at a space after its comma
    assert late.push(" times,") == []
    assert late.push(" if") == ["Yes, I can open it,000 times,"]
    assert SentenceSplitter(first_clause_words=0).push("Yes, I can open it, if you like") == []


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("The Mona Lisa was painted by Leonardo da Vinci.", "The Mona Lisa was painted"),
        ("Leonardo da Vinci painted the Mona Lisa in the early 1500s.", "Leonardo da Vinci painted the Mona Lisa"),
        ("The capital of Japan is Tokyo.", "The capital of Japan is Tokyo."),  # short: one piece
        ("It is by Leonardo.", "It is by Leonardo."),  # too few words before the linking word
        ("Dr. Smith lives in Paris with his cat.", "Dr. Smith lives in Paris with his cat."),  # a period: wait
    ],
)
def test_a_first_sentence_without_commas_is_cut_before_a_linking_word(text: str, first: str) -> None:
    splitter = SentenceSplitter()
    out: list[str] = []
    for ch in text:
        out += splitter.push(ch)
    out += splitter.flush()
    assert out[0] == first and " ".join(out) == text


def test_long_first_sentence_is_cut_at_a_clause_to_speak_sooner() -> None:
    splitter = SentenceSplitter(first_max_chars=60, first_clause_words=0)
    out: list[str] = []
    text = ("The results are in, and they show that the temperature in Berlin today is about "
            "21 degrees, which is warmer than yesterday. The second sentence, however long, "
            "is kept whole, even when it goes on and on for a while.")
    for word in text.split(" "):
        out += splitter.push(word + " ")
    out += splitter.flush()
    # the first clause boundary past 25 characters once the sentence outgrew 60
    assert out[0] == ("The results are in, and they show that the temperature in Berlin today is "
                      "about 21 degrees,")
    assert out[1] == "which is warmer than yesterday."
    assert out[-1].startswith("The second sentence, however long,")
    assert " ".join(out) == text


async def test_async_splitter_over_llm_deltas() -> None:
    async def deltas():
        for d in ["Hel", "lo there", ". How", " are you", "?", " Fine"]:
            await asyncio.sleep(0)
            yield d

    assert [s async for s in split_sentences(deltas())] == ["Hello there.", "How are you?", "Fine"]


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("**Bold** and [a link](https://en.wikipedia.org/wiki/Foo) plus `code`",
         "Bold and a link plus code"),
        ("It costs $1,250 and weighs 5 kg, 30% more.",
         "It costs 1250 dollars and weighs 5 kilograms, 30 percent more."),
        ("Drive at 10-20 km/h at 20°C.", "Drive at 10 to 20 kilometres per hour at 20 degrees Celsius."),
        ("Read it on https://www.bbc.co.uk/news/world-123 today",
         "Read it on bbc today"),
        ("# Steps\n- open the page\n- click login", "Steps. open the page. click login"),
        ("Done! 🎉 Anything else?", "Done! Anything else?"),
        ("Cats & dogs, e.g. pets", "Cats and dogs, for example pets"),
    ],
)
def test_speakable_text(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


@pytest.mark.parametrize(
    ("url", "name"),
    [("https://en.wikipedia.org/wiki/X", "wikipedia"), ("www.nytimes.com", "nytimes"),
     ("http://news.bbc.co.uk/", "bbc"), ("https://stackoverflow.com/q/1", "stackoverflow"),
     ("http://127.0.0.1:8000/x", "a local address")],
)
def test_urls_are_read_as_their_site_name(url: str, name: str) -> None:
    assert site_name(url) == name
