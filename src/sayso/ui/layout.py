"""The page: components, their labels, and which handler each event calls.

Layout (top to bottom, left to right): title, status and theme toggle; a banner naming any
stage that is unavailable; the conversation with the typed input, microphone, upload, the
spoken reply and the latency of the last turn; on the right the live browser view and the
settings. Every control has a visible label or an aria label, Enter sends, Escape stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import gradio as gr

from sayso.config import Settings
from sayso.ui.handlers import MODES, UiHandlers
from sayso.ui.render import browser_html, latency_html, status_html

STT_CHOICES = ["faster-whisper", "moonshine", "transformers"]
LLM_CHOICES = ["auto", "embedded", "ollama", "openai"]
TTS_CHOICES = ["piper", "espeak", "chatterbox"]

# Escape stops the assistant; a skip link jumps to the command box.
HEAD = """
<meta name="color-scheme" content="light dark">
<script>
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') { const b = document.getElementById('sayso-stop'); if (b) b.click(); }
});
</script>
"""

PAUSE_REPLY_JS = """() => {
  document.querySelectorAll('#sayso-reply audio').forEach((a) => { a.pause(); });
}"""

TOGGLE_THEME_JS = """() => {
  document.body.classList.toggle('dark');
  const dark = document.body.classList.contains('dark');
  const b = document.getElementById('sayso-theme');
  if (b) b.setAttribute('aria-pressed', dark ? 'true' : 'false');
}"""


@dataclass(frozen=True)
class PageAssets:
    """What Gradio 6 takes at launch() rather than in Blocks()."""

    theme: Any
    css: str
    head: str


def theme() -> Any:
    fonts = ["DejaVu Sans", "Liberation Sans", "system-ui", "sans-serif"]  # local only, no CDN
    return gr.themes.Base(
        primary_hue="blue", neutral_hue="slate", radius_size="lg",
        text_size=gr.themes.sizes.text_lg, font=fonts,
        font_mono=["DejaVu Sans Mono", "Liberation Mono", "monospace"],
    ).set(button_primary_background_fill="var(--sayso-accent)",
          button_primary_text_color="var(--sayso-accent-ink)")


def assets() -> PageAssets:
    css = resources.files("sayso.ui").joinpath("theme.css").read_text(encoding="utf-8")
    return PageAssets(theme=theme(), css=css, head=HEAD)


def build_blocks(handlers: UiHandlers, settings: Settings, *, live: Any = None) -> gr.Blocks:
    """The page; ``live`` (a ``live.LiveHub``) adds the live-voice controls."""
    h = handlers
    with gr.Blocks(title="sayso: voice assistant", fill_width=False) as demo:
        gr.HTML('<a class="sayso-skip" href="#sayso-input">Skip to the command box</a>')
        with gr.Row(elem_id="sayso-header", equal_height=True):
            gr.HTML('<div id="sayso-title"><h1>say<span class="sayso-mark">so</span></h1>'
                    '<p>A private voice assistant that drives your browser. Everything runs on '
                    'this computer.</p></div>', elem_id="sayso-title-block")
            status = gr.HTML(status_html("idle"), elem_id="sayso-status")
            theme_btn = gr.Button("Light / dark", elem_id="sayso-theme", size="sm",
                                  variant="secondary", scale=0, min_width=140)
        banner = gr.HTML("", elem_id="sayso-banner")
        warm_timer = gr.Timer(1.0)  # the banner follows the LLM's background warm-up

        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat = gr.Chatbot(label="Conversation", elem_id="sayso-chat", height=460,
                                  show_label=True, buttons=[], sanitize_html=True,
                                  placeholder="Say something, or type a command below.")
                with gr.Row(equal_height=True):
                    box = gr.Textbox(label="Type a command", elem_id="sayso-input", scale=5,
                                     placeholder="open the news page, scroll down, click about us",
                                     lines=1, max_lines=3, autofocus=True, submit_btn=False,
                                     max_length=2000)
                    send = gr.Button("Send", variant="primary", elem_id="sayso-send", scale=1,
                                     min_width=90)
                    stop = gr.Button("Stop (Esc)", variant="stop", elem_id="sayso-stop",
                                     scale=1, min_width=110)
                live_parts = _live_controls() if live is not None else None
                with gr.Row(equal_height=True):
                    mic = gr.Audio(sources=["microphone"], streaming=True, type="numpy",
                                   label="Microphone: press Record once, then just talk",
                                   elem_id="sayso-mic", buttons=[], waveform_options=None)
                    upload = gr.Audio(sources=["upload"], type="filepath",
                                      label="Or send a recording", elem_id="sayso-upload")
                reply = gr.Audio(label="Spoken reply", streaming=True, autoplay=True,
                                 interactive=False, elem_id="sayso-reply", buttons=[])
                latency = gr.HTML(latency_html({}), elem_id="sayso-latency")
            with gr.Column(scale=2, min_width=360):
                browser = gr.HTML(browser_html(_empty_browser()), elem_id="sayso-browser")
                with gr.Accordion("Settings", open=False, elem_id="sayso-settings"):
                    mode = gr.Radio(list(MODES), label="Listening mode",
                                    value=MODES[0] if settings.hands_free else MODES[1])
                    headed = gr.Checkbox(label="Show the browser window (needs a desktop)",
                                         value=not settings.browser_headless)
                    stt = gr.Dropdown(STT_CHOICES, label="Speech recognition backend",
                                      value=settings.stt, allow_custom_value=True)
                    stt_model = gr.Textbox(label="Speech recognition model (empty: bundled)",
                                           value=settings.stt_model)
                    llm = gr.Dropdown(LLM_CHOICES, label="Language model backend", value=settings.llm)
                    llm_model = gr.Textbox(label="Language model (empty: bundled)",
                                           value=settings.llm_model)
                    ollama = gr.Textbox(label="Ollama host", value=settings.ollama_host)
                    tts = gr.Dropdown(TTS_CHOICES, label="Voice backend", value=settings.tts,
                                      allow_custom_value=True)
                    voice = gr.Textbox(label="Voice (empty: bundled)", value=settings.tts_voice)
                    rate = gr.Slider(0.5, 2.0, step=0.05, value=settings.tts_rate,
                                     label="Speaking rate")
                    engine = gr.Textbox(label="Search engine URL ({query} is replaced)",
                                        value=settings.search_engine)
                    apply = gr.Button("Apply settings", variant="primary")
                    applied = gr.Markdown("", elem_id="sayso-settings-result")

        # signals from the microphone handler to the turn handler and to the page
        utt_signal = gr.Textbox(visible="hidden", elem_id="sayso-utt-signal")
        barge_signal = gr.Textbox(visible="hidden", elem_id="sayso-barge-signal")
        api_json = gr.JSON(visible=False)
        api_audio = gr.Audio(visible=False, type="numpy")

        turn_out = [chat, reply, status, latency, browser]
        if live is not None:
            from sayso.ui.live_page import wire_live

            wire_live(demo, live, h, live_parts, turn_out)
        # in SESSION_FIELDS order: see handlers.SETTING_INPUTS
        setting_inputs = [stt, stt_model, llm, llm_model, tts, voice, rate, ollama, engine,
                          mode, headed]
        limit = settings.max_sessions
        quiet: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}

        demo.load(h.on_load, None, [chat, status, latency, browser, banner, box, mic,
                                    *setting_inputs], **quiet)
        demo.unload(h.on_unload)
        warm_timer.tick(h.on_warm_tick, None, [banner, warm_timer], concurrency_limit=None,
                        **quiet)

        box.submit(h.on_text, [box], [*turn_out, box], concurrency_limit=limit,
                   concurrency_id="turns", **quiet)
        send.click(h.on_text, [box], [*turn_out, box], concurrency_limit=limit,
                   concurrency_id="turns", **quiet)
        stop.click(h.on_stop, None, [status], js=PAUSE_REPLY_JS, concurrency_limit=None,
                   **quiet)

        mic.start_recording(h.on_mic_start, None, [status], concurrency_limit=None, **quiet)
        # "multiple": every chunk is sent even while earlier ones are being processed (the
        # default drops chunks under load, cutting words); the session keeps them in order
        mic.stream(h.on_mic_chunk, [mic], [utt_signal, barge_signal, status],
                   stream_every=settings.mic_chunk_ms / 1000, time_limit=None, concurrency_limit=None,
                   trigger_mode="multiple", **quiet)
        mic.stop_recording(h.on_mic_stop, None, [utt_signal, barge_signal, status],
                           concurrency_limit=None, **quiet)
        utt_signal.change(h.on_utterance, [utt_signal], turn_out, concurrency_limit=limit,
                          concurrency_id="turns", trigger_mode="always_last", **quiet)
        barge_signal.change(None, None, None, js=PAUSE_REPLY_JS, **quiet)

        upload.upload(h.on_upload, [upload], [*turn_out, upload], concurrency_limit=limit,
                      concurrency_id="turns", **quiet)
        apply.click(h.on_apply, setting_inputs, [applied, banner], concurrency_limit=limit,
                    **quiet)
        theme_btn.click(None, None, None, js=TOGGLE_THEME_JS, **quiet)

        # the programmatic API (gradio_client): one turn in, JSON and speech out
        api_text_in = gr.Textbox(visible=False)
        api_voice_in = gr.Audio(visible=False, type="filepath")
        api_text_in.submit(h.api_text, [api_text_in], [api_json, api_audio], api_name="text",
                           concurrency_limit=limit, concurrency_id="turns")
        api_voice_in.change(h.api_voice, [api_voice_in], [api_json, api_audio], api_name="voice",
                            concurrency_limit=limit, concurrency_id="turns")
    return demo


def _live_controls() -> Any:
    from sayso.ui.live_page import live_controls

    return live_controls()


def _empty_browser() -> Any:
    from sayso.ui.render import BrowserInfo

    return BrowserInfo()
