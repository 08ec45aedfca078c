"""A minimal GGUF header reader: the metadata key/values before the tensors.

Used to check that a file really is the model it claims to be (``general.name``,
``general.architecture``) and to turn "not a GGUF" into one clear error before llama.cpp sees it.
Only the header is read (a few hundred KB at most, tokenizer arrays are skipped, not decoded).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from sayso.errors import ConfigError

MAGIC = b"GGUF"

# GGUF value types -> struct format (scalars)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 1 << 24  # a header string over 16 MB means a corrupt file


class _Reader:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh

    def read(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        raw = self.fh.read(size)
        if len(raw) != size:
            raise ValueError("truncated header")
        return struct.unpack(fmt, raw)[0]

    def string(self) -> str:
        n = self.read("<Q")
        if n > _MAX_STRING:
            raise ValueError("string length out of range")
        raw = self.fh.read(n)
        if len(raw) != n:
            raise ValueError("truncated string")
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.read("<Q")
        if n > _MAX_STRING:
            raise ValueError("string length out of range")
        self.fh.seek(n, 1)

    def value(self, vtype: int, *, keep: bool) -> Any:
        if vtype in _SCALARS:
            return self.read(_SCALARS[vtype])
        if vtype == _STRING:
            if keep:
                return self.string()
            self.skip_string()
            return None
        if vtype == _ARRAY:
            item_type = self.read("<I")
            count = self.read("<Q")
            if item_type in _SCALARS:  # skip fixed-size arrays in one seek
                self.fh.seek(struct.calcsize(_SCALARS[item_type]) * count, 1)
            else:
                for _ in range(count):
                    self.value(item_type, keep=False)
            return f"<array of {count}>"
        raise ValueError(f"unknown value type {vtype}")


def read_metadata(path: Path, *, keys_prefix: tuple[str, ...] = ("general.",)) -> Mapping[str, Any]:
    """The header's metadata whose keys start with one of ``keys_prefix``.

    Raises ConfigError (code ``llm.bad_model``) when the file is missing or is not a GGUF.
    """
    try:
        with path.open("rb") as fh:
            if fh.read(4) != MAGIC:
                raise ConfigError(
                    f"The model file {path} is not a GGUF file.",
                    code="llm.bad_model",
                    hint="Give a .gguf model (SAYSO_LLM_MODEL) or leave it empty for the bundled one.",
                )
            rd = _Reader(fh)
            version = rd.read("<I")
            if version not in (2, 3):
                raise ValueError(f"unsupported GGUF version {version}")
            rd.read("<Q")  # tensor count
            kv_count = rd.read("<Q")
            meta: dict[str, Any] = {"gguf.version": version}
            for _ in range(kv_count):
                key = rd.string()
                vtype = rd.read("<I")
                keep = key.startswith(keys_prefix)
                val = rd.value(vtype, keep=keep)
                if keep:
                    meta[key] = val
            return meta
    except FileNotFoundError:
        raise ConfigError(
            f"The model file {path} does not exist.",
            code="llm.model_missing",
            hint="Fix SAYSO_LLM_MODEL, or leave it empty for the bundled model.",
        ) from None
    except (ValueError, struct.error, OSError) as exc:
        raise ConfigError(
            f"The model file {path} is not a valid GGUF file ({exc}).",
            code="llm.bad_model",
            hint="Give a complete .gguf model, or leave SAYSO_LLM_MODEL empty for the bundled one.",
        ) from exc
