"""The page shows what the pipeline reported: chat, action chips, status, latency, browser."""

from __future__ import annotations

from sayso.events import ActionRecord, TurnEvent, TurnSummary, durations
from sayso.ui.render import (
    BrowserInfo,
    ConversationView,
    banner_html,
    browser_html,
    chip_text,
    latency_html,
    safe_message,
    status_html,
)


def ev(type_: str, t: float, **data: object) -> TurnEvent:
    return TurnEvent(type=type_, turn_id="t1", t_ms=t, data=data)  # type: ignore[arg-type]


def test_a_voice_turn_becomes_transcript_chip_reply_and_latency() -> None:
    view = ConversationView(hands_free=True)
    view.mic_on = True
    turn = [
        ev("vad-end", 1000.0),
        ev("turn-start", 1001.0),
        ev("stt-end", 1700.0, text="click on about us"),
        ev("tool-start", 1710.0, tool="click", args={"text": "About us"}),
        ev("tool-end", 1950.0, tool="click", ok=True, message="Clicked."),
        ev("reply-text", 2000.0, delta="Opened About us."),
        ev("tts-first-audio", 2400.0),
    ]
    summary = TurnSummary(transcript="click on about us", reply="Opened About us.", source="voice",
                          actions=(ActionRecord("click", {"text": "About us"}, True, None, "Clicked."),),
                          timings_ms=durations([*turn, ev("turn-end", 2600.0)]))
    for e in [*turn, TurnEvent(type="turn-end", turn_id="t1", t_ms=2600.0, data=summary)]:
        view.apply(e)
    msgs = view.messages()
    assert msgs[0] == {"role": "user", "content": "click on about us"}
    assert "clicked &#x27;About us&#x27;" in msgs[1]["content"]
    assert "sayso-chip-ok" in msgs[1]["content"] and "Opened About us." in msgs[1]["content"]
    assert view.latency == {"stt": 700.0, "action": 950.0, "first_audio": 1400.0, "total": 1600.0}
    html = latency_html(view.latency, view.latency_kind)
    assert "end of speech" in html and "1.40 s" in html
    assert view.status == "listening"  # back to listening after the turn


def test_the_words_so_far_show_while_the_user_talks_and_go_at_the_end() -> None:
    view = ConversationView(hands_free=True)
    view.mic_on = True
    assert view.apply(ev("vad-start", 0.0)).status
    up = view.apply(ev("stt-partial", 300.0, text="search for <b>cheap", final=False))
    assert up.status and view.partial == "search for <b>cheap"
    html = status_html(view.status, view.partial)
    assert "Hearing you" in html and "search for &lt;b&gt;cheap" in html  # escaped
    assert not view.apply(ev("stt-partial", 600.0, text="search for <b>cheap", final=True)).status
    assert view.apply(ev("vad-end", 900.0)).status and view.partial == ""
    assert not view.apply(ev("stt-partial", 950.0, text="late", final=True)).status  # after the end


def test_failed_action_and_error_are_shown_without_paths_or_traces() -> None:
    view = ConversationView()
    view.user_said("click pricing")
    view.apply(ev("tool-start", 1.0, tool="click", args={"text": "pricing"}))
    view.apply(ev("tool-end", 2.0, tool="click", ok=False, message="No link called pricing."))
    view.apply(ev("error", 3.0, code="llm.failed",
                  message='LLM died at /home/u/.venv/lib/x.py\nTraceback (most recent call last):'))
    html = view.messages()[1]["content"]
    assert "could not do: clicked &#x27;pricing&#x27;" in html and "sayso-chip-failed" in html
    assert "/home/u" not in html and "Traceback" not in html and "x.py" in html


def test_user_text_from_pages_and_models_is_escaped() -> None:
    view = ConversationView()
    view.user_said("<script>alert(1)</script>")
    view.apply(ev("reply-text", 1.0, delta="<img src=x onerror=alert(1)>"))
    view.apply(ev("browser-state", 2.0, url="http://x/<b>", title="<i>t</i>", tabs=[]))
    joined = str(view.messages()) + browser_html(view.browser)
    assert "<script>" not in joined and "<img src=x" not in joined and "<i>t</i>" not in joined


def test_cancelled_turn_is_marked_and_empty_turn_leaves_no_bubble() -> None:
    view = ConversationView()
    view.apply(ev("turn-start", 0.0))
    view.apply(ev("stt-end", 1.0, text=""))  # silence: nothing was said
    view.apply(ev("turn-end", 2.0))
    assert view.messages() == []
    view.user_said("read the page")
    view.apply(TurnEvent(type="reply-text", turn_id="t2", data={"delta": "The page"}))
    view.apply(TurnEvent(type="cancelled", turn_id="t2"))
    assert "(interrupted)" in view.messages()[-1]["content"]


def test_chip_texts_are_short_and_human() -> None:
    assert chip_text("navigate", {"url": "https://en.wikipedia.org/wiki/Cat"}) == "opened en.wikipedia.org"
    assert chip_text("scroll", {"direction": "down"}) == "scrolled down"
    assert chip_text("switch_tab", {"index": 2}) == "switched to tab 2"
    assert chip_text("back", {}) == "went back"
    assert len(chip_text("search", {"query": "x" * 200})) < 70


def test_browser_view_has_screenshot_alt_text_and_tabs() -> None:
    info = BrowserInfo(url="http://127.0.0.1/about.html", title="About us", screenshot=b"\xff\xd8jpeg",
                       tabs=({"index": 1, "title": "About us", "active": True},
                             {"index": 2, "title": "News", "active": False}))
    html = browser_html(info)
    assert 'alt="Screenshot of the page About us"' in html
    assert "data:image/jpeg;base64," in html and 'aria-current="page"' in html
    assert "No page open yet" in browser_html(BrowserInfo())


def test_banner_names_unavailable_stages() -> None:
    assert banner_html({}) == ""
    html = banner_html({"tts": "No spoken replies: Piper failed to load."})
    assert 'role="alert"' in html and "No spoken replies" in html


def test_safe_message_keeps_one_bounded_line() -> None:
    assert safe_message("first\nsecond") == "first"
    assert len(safe_message("x" * 5000)) <= 400
