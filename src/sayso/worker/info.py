"""What the worker says about itself in ``info`` (the answer to ``describe``).

Names are what a client picks by: the model (``tiny.en``) and the voice (``en_US-joe-medium``),
as wyoming-faster-whisper and wyoming-piper name theirs; attributions point at the real projects.
"""

from __future__ import annotations

from pathlib import Path

from wyoming.info import AsrModel, AsrProgram, Attribution, Info, TtsProgram, TtsVoice

from sayso.config import Settings

ENGINES: dict[str, Attribution] = {
    "faster-whisper": Attribution(name="SYSTRAN", url="https://github.com/SYSTRAN/faster-whisper"),
    "transformers": Attribution(name="Hugging Face", url="https://github.com/huggingface/transformers"),
    "moonshine": Attribution(name="Useful Sensors", url="https://github.com/moonshine-ai/moonshine"),
    "piper": Attribution(name="rhasspy", url="https://github.com/rhasspy/piper"),
    "espeak": Attribution(name="eSpeak NG", url="https://github.com/espeak-ng/espeak-ng"),
    "chatterbox": Attribution(name="Resemble AI", url="https://github.com/resemble-ai/chatterbox"),
}
WHISPER = Attribution(name="OpenAI", url="https://github.com/openai/whisper")
PIPER_VOICES = Attribution(name="rhasspy", url="https://huggingface.co/rhasspy/piper-voices")


def model_name(settings: Settings, stt: str) -> str:
    """The model the worker's ``stt`` backend serves: ``moonshine-base-en``, or for Whisper
    ``tiny.en`` (bundled), ``base``, or a directory's name."""
    spec = settings.stt_model.strip()
    if stt == "moonshine":
        return "moonshine-base-en"
    return Path(spec).name if spec and ("/" in spec or Path(spec).is_dir()) else (spec or "tiny.en")


def voice_name(settings: Settings, tts: str) -> str:
    """The voice served: the Piper voice file's name (``en_US-joe-medium``), else the engine's."""
    if tts == "piper":
        if settings.tts_voice:
            return Path(settings.tts_voice).stem
        from sayso import models

        found = models.piper_voice_files()
        return found[0].stem if found else "piper"
    if tts == "espeak":
        from sayso.tts.espeak import DEFAULT_VOICE

        return DEFAULT_VOICE
    return tts


def service_info(settings: Settings, *, stt: str | None, tts: str | None, version: str) -> Info:
    asr, voices = [], []
    if stt:
        model = model_name(settings, stt)
        asr.append(AsrProgram(
            name=f"sayso-{stt}", attribution=ENGINES.get(stt, WHISPER), installed=True,
            description=f"sayso speech-to-text ({stt})", version=version,
            models=[AsrModel(name=model, attribution=ENGINES["moonshine"] if stt == "moonshine" else WHISPER,
                             installed=True, description=model if stt == "moonshine" else f"Whisper {model}",
                             version=None,
                             languages=["en"])],
        ))
    if tts:
        voice = voice_name(settings, tts)
        voices.append(TtsProgram(
            name=f"sayso-{tts}", attribution=ENGINES.get(tts, ENGINES["piper"]), installed=True,
            description=f"sayso text-to-speech ({tts})", version=version,
            voices=[TtsVoice(name=voice, installed=True, description=voice, version=None,
                             attribution=PIPER_VOICES if tts == "piper" else ENGINES.get(tts, ENGINES["piper"]),
                             languages=["en"])],
        ))
    return Info(asr=asr, tts=voices)
