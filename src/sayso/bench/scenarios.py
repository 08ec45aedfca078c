"""Benchmark scenarios: spoken commands and questions rendered to WAV, cached.

The voices are NOT the assistant's own Piper voice, so speech-to-text is not only tested on
the voice it was tuned with: several espeak-ng voice variants, at slow, normal and fast
speaking rates, clean and with pink noise added at 20 dB and 10 dB SNR (relative to the
speech power). Every clip is trimmed to the speech, then padded with a short lead-in and
enough trailing silence for the endpointer, so the position where speech ends is known
exactly (``speech_end_ms``): that is the "end of speech" every latency is measured from.

Files are cached under ``<cache_dir>/bench/wav`` keyed by what went into them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from sayso.audio.convert import to_16k_mono, to_int16
from sayso.audio.io import read_audio, write_wav
from sayso.errors import ConfigError
from sayso.types import SAMPLE_RATE, AudioChunk

log = logging.getLogger(__name__)

RENDER_VERSION = 1  # bump to invalidate the cache when rendering changes
LEAD_MS = 400
TRAIL_MS = 1500  # > the default 500 ms endpoint silence, with room for a slower endpointer

ScenarioGroup = Literal["command", "question"]


@dataclass(frozen=True, slots=True)
class Voice:
    """An espeak-ng voice variant and speaking rate (words per minute)."""

    name: str
    wpm: int

    @property
    def label(self) -> str:
        return f"espeak-ng:{self.name}@{self.wpm}"


#: voices cycled over the scenarios: accents, male/female variants, slow/normal/fast
VOICES: tuple[Voice, ...] = (
    Voice("en-us", 175),
    Voice("en-gb+f3", 155),
    Voice("en-us+m3", 205),
    Voice("en-us+f4", 150),
    Voice("en-029+m2", 180),
)
#: noise conditions cycled over the scenarios (None = clean)
SNRS: tuple[float | None, ...] = (None, 20.0, 10.0)

#: spoken questions added to the command set (plain answers, no browser action)
QUESTIONS: tuple[str, ...] = (
    "what is the capital of france",
    "how many legs does a spider have",
    "who wrote romeo and juliet",
    "why is the sky blue",
    "what is the boiling point of water",
    "tell me a fun fact about octopuses",
)

#: the --quick subset: likely fast-path commands, commands the LLM must route, questions
QUICK: tuple[str, ...] = (  # in this order (so --limit 2 still has a command and a question)
    "page down",
    "who painted the mona lisa",
    "bring up the new york times",
    "new tab",
    "what is the capital of france",
    "what's the weather like in berlin search it",
)


@dataclass(frozen=True, slots=True)
class Command:
    """One line of a commands TSV: what is said, and the expected tool (``answer`` for none)."""

    text: str
    expected: str
    source: str = ""

    @property
    def group(self) -> ScenarioGroup:
        return "question" if self.expected.strip() == "answer" else "command"


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    text: str
    expected: str
    group: ScenarioGroup
    voice: Voice
    snr_db: float | None

    @property
    def condition(self) -> str:
        return "clean" if self.snr_db is None else f"snr{self.snr_db:g}"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A scenario's WAV (16 kHz mono int16) and where its speech lies in it."""

    scenario: Scenario
    wav: Path
    speech_start_ms: float
    speech_end_ms: float
    duration_ms: float

    def to_json(self) -> dict[str, object]:
        d = asdict(self.scenario)
        d.update(voice=self.scenario.voice.label, condition=self.scenario.condition, wav=str(self.wav),
                 speech_start_ms=self.speech_start_ms, speech_end_ms=self.speech_end_ms,
                 duration_ms=self.duration_ms)
        return d


def load_commands(path: str | Path) -> list[Command]:
    """Read a commands TSV (``utterance<TAB>expected``; ``#`` lines are comments)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"Cannot read the commands file {p}: {exc.strerror}.") from exc
    out: list[Command] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        text, sep, expected = line.partition("\t")
        if not sep or not text.strip() or not expected.strip():
            raise ConfigError(f"{p.name} line {n} is not 'utterance<TAB>expected'.")
        out.append(Command(text.strip(), expected.strip(), source=p.name))
    if not out:
        raise ConfigError(f"The commands file {p} has no commands.")
    return out


def build_scenarios(
    commands: Sequence[Command], *, quick: bool = False, questions: Iterable[str] = QUESTIONS,
    limit: int | None = None,
) -> list[Scenario]:
    """Commands plus the extra questions, each with a voice and noise condition (cycled)."""
    items = list(commands) + [Command(q, "answer", source="bench") for q in questions]
    seen: set[str] = set()
    unique = [c for c in items if not (c.text in seen or seen.add(c.text))]
    if quick:
        order = {t: i for i, t in enumerate(QUICK)}
        unique = sorted((c for c in unique if c.text in order), key=lambda c: order[c.text]) or unique[:6]
    if limit is not None:
        unique = unique[:limit]
    out = []
    for i, c in enumerate(unique):
        voice = VOICES[i % len(VOICES)]
        snr = SNRS[i % len(SNRS)]
        out.append(Scenario(id=f"s{i:02d}", text=c.text, expected=c.expected, group=c.group,
                            voice=voice, snr_db=snr))
    return out


def _espeak(text: str, voice: Voice) -> AudioChunk:
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


def _trim(samples: np.ndarray, *, frame: int = 160, rel_db: float = -40.0) -> np.ndarray:
    """Cut leading/trailing silence: frames 40 dB below the loudest frame."""
    n = len(samples) // frame
    if n == 0:
        return samples
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.nonzero(20 * np.log10(rms / rms.max()) > rel_db)[0]
    if loud.size == 0:
        return samples
    return samples[loud[0] * frame: (loud[-1] + 1) * frame]


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS 1/f noise (closer to room and street noise than white)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    noise = np.fft.irfft(spec / np.sqrt(f), n)
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def compose(speech: np.ndarray, *, snr_db: float | None, seed: int) -> tuple[np.ndarray, float, float]:
    """Pad speech with silence and add noise over the whole clip. Returns (audio, start, end) ms."""
    speech = _trim(speech.astype(np.float32))
    peak = float(np.max(np.abs(speech))) or 1.0
    speech = speech * (0.5 / peak)
    lead = int(LEAD_MS * SAMPLE_RATE / 1000)
    trail = int(TRAIL_MS * SAMPLE_RATE / 1000)
    audio = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(trail, np.float32)])
    if snr_db is not None:
        p_speech = float(np.mean(speech**2))
        noise = pink_noise(len(audio), np.random.default_rng(seed))
        audio = audio + noise * np.sqrt(p_speech / (10 ** (snr_db / 10)))
    peak = float(np.max(np.abs(audio)))
    if peak > 0.99:
        audio = audio * (0.99 / peak)
    start = lead * 1000 / SAMPLE_RATE
    return audio.astype(np.float32), start, start + len(speech) * 1000 / SAMPLE_RATE


def render(scenario: Scenario, cache_dir: Path) -> Rendered:
    """The scenario's WAV, from the cache or rendered now."""
    key = json.dumps([RENDER_VERSION, scenario.text, scenario.voice.name, scenario.voice.wpm,
                      scenario.snr_db, LEAD_MS, TRAIL_MS])
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    folder = cache_dir / "bench" / "wav"
    wav, meta = folder / f"{digest}.wav", folder / f"{digest}.json"
    if wav.is_file() and meta.is_file():
        m = json.loads(meta.read_text())
        return Rendered(scenario, wav, m["speech_start_ms"], m["speech_end_ms"], m["duration_ms"])
    folder.mkdir(parents=True, exist_ok=True)
    speech = _espeak(scenario.text, scenario.voice)
    audio, start, end = compose(np.asarray(speech.samples), snr_db=scenario.snr_db,
                                seed=int(digest[:8], 16))
    write_wav(wav, AudioChunk(samples=to_int16(audio), rate=SAMPLE_RATE))
    dur = len(audio) * 1000 / SAMPLE_RATE
    meta.write_text(json.dumps({"speech_start_ms": start, "speech_end_ms": end, "duration_ms": dur,
                                "text": scenario.text, "voice": scenario.voice.label,
                                "snr_db": scenario.snr_db}))
    return Rendered(scenario, wav, start, end, dur)


def render_all(scenarios: Sequence[Scenario], cache_dir: Path) -> list[Rendered]:
    return [render(s, cache_dir) for s in scenarios]


def read_rendered(r: Rendered) -> AudioChunk:
    """The clip as 16 kHz mono float32."""
    return to_16k_mono(read_audio(r.wav))
