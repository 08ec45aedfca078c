"""sayso: a private, offline voice assistant that drives a real web browser."""

from sayso.errors import SaysoError
from sayso.events import TurnEvent
from sayso.types import (
    AudioChunk,
    ChatMessage,
    LlmChunk,
    ToolCall,
    ToolResult,
    Transcript,
    Utterance,
)

__version__ = "0.1.0"

__all__ = [
    "AudioChunk",
    "ChatMessage",
    "LlmChunk",
    "SaysoError",
    "ToolCall",
    "ToolResult",
    "Transcript",
    "TurnEvent",
    "Utterance",
    "__version__",
]
