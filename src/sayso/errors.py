"""One error hierarchy with stable string codes.

Every error carries a one-sentence ``message`` a person understands and, where there is one,
a ``hint``: the exact thing to do about it. Codes are stable: tests, metrics and the UI key on
them.
"""

from __future__ import annotations


class SaysoError(Exception):
    """Base of every error sayso raises on purpose."""

    code: str = "sayso.error"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.hint = hint

    def one_line(self) -> str:
        """The message and the hint, in one line, for stderr and the chat."""
        return f"{self.message} {self.hint}".strip() if self.hint else self.message

    def __str__(self) -> str:
        return self.one_line()


class ConfigError(SaysoError):
    code = "config.invalid"


class StageUnavailableError(SaysoError):
    """A stage or backend is not installed or not built yet."""

    code = "stage.unavailable"


class AudioError(SaysoError):
    code = "audio.invalid"


class SttError(SaysoError):
    code = "stt.failed"


class LlmError(SaysoError):
    code = "llm.failed"


class TtsError(SaysoError):
    code = "tts.failed"


class TtsUnavailable(TtsError):  # noqa: N818
    """A voice cannot speak this request (server down, refused, no voice): try the next voice.

    ``why`` completes a sentence about the voice: "is not running (connection refused)"."""

    code = "tts.unavailable"

    def __init__(self, message: str, *, why: str, code: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, code=code, hint=hint)
        self.why = why


class BrowserError(SaysoError):
    code = "browser.failed"


class UnsafeUrlError(BrowserError):
    code = "url.unsafe"


class AuthError(SaysoError):
    code = "auth.refused"


class ToolArgsError(SaysoError):
    """A tool call with a missing, mistyped or out-of-range argument, or an unknown tool."""

    code = "tool.invalid_args"
