"""Benchmark scenarios: spoken commands and questions rendered to WAV, cached.

Many voices (:mod:`sayso.bench.voices`: espeak-ng English variants at slow, normal and fast
rates, and the Piper voice), clean and with pink noise added at 20 dB and 10 dB SNR (relative
to the speech power).

Each scenario has a KIND chosen by what the user meant, not by what the pipeline did
(:func:`expected_kind`): a spoken question (the expected answer is a plain reply), a browser
command the fast path maps from the words said, or a browser command only the LLM can route. A
turn that was misheard and took another path stays in its kind (and counts as an accuracy
miss). Every clip is trimmed to the speech, then padded with a short lead-in and
enough trailing silence for the endpointer, so the position where speech ends is known
exactly (``speech_end_ms``): that is the "end of speech" every latency is measured from.

Files are cached under ``<cache_dir>/bench/wav`` keyed by what went into them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from sayso.audio.convert import to_16k_mono, to_int16
from sayso.audio.io import read_audio, write_wav
from sayso.bench.voices import SWEEP_VOICES, VOICES, Voice, speak
from sayso.config import Settings
from sayso.errors import ConfigError
from sayso.types import SAMPLE_RATE, AudioChunk

log = logging.getLogger(__name__)

RENDER_VERSION = 2  # bump to invalidate the cache when rendering changes
LEAD_MS = 400
TRAIL_MS = 1500  # > the default 500 ms endpoint silence, with room for a slower endpointer

ScenarioGroup = Literal["command", "question"]
Kind = Literal["fast", "llm", "question"]


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

#: browser commands only the LLM can route (the fast path declines their words), added to the
#: command set, which has one such command; expected calls as in commands-dev.tsv
LLM_COMMANDS: tuple[tuple[str, str], ...] = (
    ("show me more of the page", "scroll:down"),
    ("find me a recipe for banana bread", "search:recipe for banana bread"),
    ("take me to the previous page", "back"),
    ("i want to see what is on youtube", "navigate:youtube.com"),
)

#: the --quick subset, one of each kind first (so --limit 3 still has all three), then the
#: kinds rotated so each meets two of the three noise conditions (cycled clean, 20, 10 dB):
#: commands tiny.en hears right in every voice clean (measured: "page down" and "new tab" are
#: misheard, so they never reached the fast path)
QUICK: tuple[str, ...] = (
    "scroll to the bottom",  # fast, clean
    "who painted the mona lisa",  # question, 20 dB
    "what's the weather like in berlin search it",  # llm, 10 dB
    "find me a recipe for banana bread",  # llm, clean
    "open the guardian",  # fast, 20 dB
    "what is the capital of france",  # question, 10 dB
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
    kind: Kind = "llm"
    sweep: bool = False  # part of the accuracy sweep (our pipeline only, not timed)

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
        d.update(voice=self.scenario.voice.label, engine=self.scenario.voice.engine, condition=self.scenario.condition, wav=str(self.wav),
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


def expected_kind(text: str, expected: str) -> Kind:
    """What the user meant: a question (a plain answer expected), a browser command the fast
    path maps from these very words to the expected call, or one the LLM has to route."""
    from sayso.agent import fastpath
    from sayso.agent.evaluate import ANSWER, Case, call_matches

    tool, _, arg = expected.strip().partition(":")
    if tool == ANSWER:
        return "question"
    calls = fastpath.plan(text)
    return "fast" if calls and call_matches(Case(text, tool, arg), calls[0]) else "llm"


def _unique(commands: Sequence[Command], questions: Iterable[str], extra: Iterable[tuple[str, str]]) -> list[Command]:
    items = [*commands, *(Command(t, e, source="bench") for t, e in extra),
             *(Command(q, "answer", source="bench") for q in questions)]
    seen: set[str] = set()
    return [c for c in items if not (c.text in seen or seen.add(c.text))]


def build_scenarios(
    commands: Sequence[Command], *, quick: bool = False, questions: Iterable[str] = QUESTIONS,
    extra: Iterable[tuple[str, str]] = LLM_COMMANDS, limit: int | None = None,
    voices: Sequence[Voice] = VOICES,
) -> list[Scenario]:
    """Commands, the LLM-only commands and the questions, each once, with a voice and a noise
    condition (cycled): these go through both systems, timed."""
    unique = _unique(commands, questions, extra)
    if quick:
        order = {t: i for i, t in enumerate(QUICK)}
        unique = sorted((c for c in unique if c.text in order), key=lambda c: order[c.text]) or unique[:6]
    if limit is not None:
        unique = unique[:limit]
    out = []
    for i, c in enumerate(unique):
        out.append(Scenario(id=f"s{i:02d}", text=c.text, expected=c.expected, group=c.group,
                            voice=voices[i % len(voices)], snr_db=SNRS[i % len(SNRS)],
                            kind=expected_kind(c.text, c.expected)))
    return out


def build_sweep(commands: Sequence[Command], *, voices: Sequence[Voice] = SWEEP_VOICES,
                snrs: Sequence[float | None] = (None, 20.0), limit: int | None = None) -> list[Scenario]:
    """The accuracy sweep: every command of the set in every sweep voice and condition (our
    pipeline only; accuracy and WER by voice and noise)."""
    cmds = _unique(commands, (), ())[:limit] if limit else _unique(commands, (), ())
    out = []
    for v in voices:
        for snr in snrs:
            for c in cmds:
                out.append(Scenario(id=f"w{len(out):03d}", text=c.text, expected=c.expected, group=c.group,
                                    voice=v, snr_db=snr, kind=expected_kind(c.text, c.expected), sweep=True))
    return out


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


def render(scenario: Scenario, cache_dir: Path, settings: Settings) -> Rendered:
    """The scenario's WAV, from the cache or rendered now."""
    key = json.dumps([RENDER_VERSION, scenario.text, scenario.voice.engine, scenario.voice.name,
                      scenario.voice.wpm, scenario.snr_db, LEAD_MS, TRAIL_MS])
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    folder = cache_dir / "bench" / "wav"
    wav, meta = folder / f"{digest}.wav", folder / f"{digest}.json"
    if wav.is_file() and meta.is_file():
        m = json.loads(meta.read_text())
        return Rendered(scenario, wav, m["speech_start_ms"], m["speech_end_ms"], m["duration_ms"])
    folder.mkdir(parents=True, exist_ok=True)
    speech = speak(scenario.text, scenario.voice, settings)
    audio, start, end = compose(np.asarray(speech.samples), snr_db=scenario.snr_db,
                                seed=int(digest[:8], 16))
    write_wav(wav, AudioChunk(samples=to_int16(audio), rate=SAMPLE_RATE))
    dur = len(audio) * 1000 / SAMPLE_RATE
    meta.write_text(json.dumps({"speech_start_ms": start, "speech_end_ms": end, "duration_ms": dur,
                                "text": scenario.text, "voice": scenario.voice.label,
                                "snr_db": scenario.snr_db}))
    return Rendered(scenario, wav, start, end, dur)


def render_all(scenarios: Sequence[Scenario], cache_dir: Path, settings: Settings) -> list[Rendered]:
    return [render(s, cache_dir, settings) for s in scenarios]


def read_rendered(r: Rendered) -> AudioChunk:
    """The clip as 16 kHz mono float32."""
    return to_16k_mono(read_audio(r.wav))
