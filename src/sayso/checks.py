"""One row of ``sayso doctor``: a neutral type, so that the stages that report on themselves
(models, voices, the worker) do not import the doctor, which imports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "missing"]


@dataclass(frozen=True, slots=True)
class Check:
    group: str
    name: str
    status: Status
    detail: str
    fix: str = ""
    required: bool = True
