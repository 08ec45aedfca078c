"""The speech worker's devices and model memory: which device a model runs on, and how much of
it the worker's models may hold (``sayso worker serve``; the app and the CLI load their stages
directly and do not use this).

- ``choose_device`` picks cpu or cuda from the setting and what is present (torch is imported
  only when it is installed and a GPU could be asked for; the default install has no torch).
- ``init_torch_process`` applies ``torch.cuda.set_per_process_memory_fraction`` in a worker
  that runs torch; ``empty_device_cache`` runs after an unload.
- ``ModelCache`` holds the worker's loaded models (its STT and voices) under one byte budget per
  device: lazy load on first use, unload after an idle timeout, least recently
  used eviction when a new model needs room. It never waits for memory: when the budget of the
  preferred device cannot be met it loads on the next device in the model's list (the CPU) and
  says so, and when no device fits it raises ``ResourceError`` with one sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sayso.errors import SaysoError

if TYPE_CHECKING:
    from sayso.config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
MB = 1024 * 1024


class ResourceError(SaysoError):
    """No device has room for a model within its memory budget."""

    code = "resources.exhausted"


# ---------------------------------------------------------------------------------------------
# devices


@dataclass(frozen=True, slots=True)
class DeviceChoice:
    device: str  # "cpu" or "cuda"
    reason: str  # one sentence: why this device
    dtype: str  # the torch dtype name to use there: float16 on cuda, float32 on cpu

    @property
    def is_gpu(self) -> bool:
        return self.device.startswith("cuda")


def torch_installed() -> bool:
    """True when torch can be imported (it is never imported by this check)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device (imports torch only if installed)."""
    if not torch_installed():
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception as exc:  # a broken CUDA install must not break a CPU run
        log.warning("torch could not query CUDA (%s); using the CPU", exc)
        return False


def choose_device(requested: str = "auto", *, probe: Callable[[], bool] | None = None) -> DeviceChoice:
    """Pick the device for a torch model. ``probe`` says whether CUDA is usable (for tests)."""
    requested = (requested or "auto").lower()
    if requested == "cpu":
        return DeviceChoice("cpu", "the CPU was configured", "float32")
    if requested not in ("auto", "cuda") and not requested.startswith("cuda:"):
        raise ResourceError(f"Unknown device '{requested}': choose auto, cpu or cuda.",
                            code="config.invalid")
    has_cuda = (probe or cuda_available)()
    if has_cuda:
        device = requested if requested.startswith("cuda") else "cuda"
        return DeviceChoice(device, "a CUDA GPU is available", "float16")
    if requested == "auto":
        why = "no CUDA GPU was found" if torch_installed() else "torch is not installed"
        return DeviceChoice("cpu", f"{why}, so the CPU is used", "float32")
    msg = "CUDA was requested but no CUDA GPU is available, so the CPU is used instead"
    log.warning("%s.", msg)
    return DeviceChoice("cpu", msg, "float32")


def init_torch_process(fraction: float, *, device_index: int = 0) -> bool:
    """Cap this process's share of the GPU (torch's per-process memory fraction).

    Returns True when applied; False when torch or CUDA is absent (nothing to do)."""
    if not 0.0 < fraction <= 1.0:
        raise ResourceError(f"The GPU memory fraction must be in (0, 1], not {fraction}.",
                            code="config.invalid")
    if not cuda_available():
        return False
    import torch

    torch.cuda.set_per_process_memory_fraction(fraction, device_index)
    log.info("GPU %d: this process may use %.0f%% of its memory", device_index, fraction * 100)
    return True


def empty_device_cache() -> None:
    """Return freed GPU blocks to the driver after an unload (no-op without torch or CUDA)."""
    torch = sys.modules.get("torch")  # only if already imported: never import torch for this
    if torch is None:
        return
    try:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception as exc:
        log.debug("empty_cache failed: %s", exc)


def trim_process_memory() -> None:
    """Ask glibc to hand freed heap pages back to the OS after a CPU model is unloaded."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError) as exc:
        log.debug("malloc_trim unavailable: %s", exc)


def gpu_total_bytes(device_index: int = 0) -> int | None:
    """Total memory of the GPU (via torch, else nvidia-smi), or None when there is none."""
    if cuda_available():
        import torch

        _free, total = torch.cuda.mem_get_info(device_index)
        return int(total)
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.split()
        return int(float(out[device_index]) * MB)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def ct2_cuda_available() -> bool:
    """True when CTranslate2 (faster-whisper's engine, no torch needed) sees a CUDA device."""
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:
        return False


def ram_total_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def budgets_from_settings(
    settings: Settings, *, gpu_total: int | None | bool = False, ram_total: int | None = None
) -> dict[str, int]:
    """Byte budget per device. ``gpu_total``: False = probe the GPU, None = no GPU."""
    out: dict[str, int] = {}
    cpu_mb = settings.cpu_memory_budget_mb
    out["cpu"] = cpu_mb * MB if cpu_mb else (ram_total if ram_total is not None else ram_total_bytes()) // 2
    total = gpu_total_bytes() if gpu_total is False else gpu_total
    if total:
        gpu_mb = settings.gpu_memory_budget_mb
        out["cuda"] = gpu_mb * MB if gpu_mb else int(total * settings.gpu_memory_fraction)
    return out


# ---------------------------------------------------------------------------------------------
# the model cache


@dataclass(frozen=True, slots=True)
class ModelSpec(Generic[T]):
    """How to load one model. ``devices`` in order of preference; the last is the fallback.

    ``load(device)`` returns the loaded model (run blocking work in a thread inside it);
    ``unload(model)`` releases it (optional: dropping the reference is the default)."""

    key: str  # e.g. "stt:faster-whisper"
    kind: str  # stt | tts | llm | other: reported by doctor and the metrics
    size_bytes: int  # memory it holds once loaded on its device (an estimate is fine)
    load: Callable[[str], Awaitable[T]]
    unload: Callable[[T], Awaitable[None]] | None = None
    devices: tuple[str, ...] = ("cpu",)
    sizes: Mapping[str, int] = field(default_factory=dict)  # per-device size when it differs


@dataclass(slots=True)
class _Entry:
    spec: ModelSpec[Any]
    device: str
    size: int
    ready: asyncio.Future[Any]
    last_used: float
    users: int = 0


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    model: T
    device: str
    key: str


@dataclass(frozen=True, slots=True)
class EntryStats:
    key: str
    kind: str
    device: str
    size_bytes: int
    in_use: bool
    idle_s: float
    loading: bool


@dataclass(frozen=True, slots=True)
class CacheStats:
    budgets: Mapping[str, int]
    used: Mapping[str, int]
    entries: tuple[EntryStats, ...]
    loads: int
    evictions: int
    idle_unloads: int
    fallbacks: int

    def lines(self) -> list[str]:
        out = []
        for dev, budget in self.budgets.items():
            out.append(f"{dev}: {self.used.get(dev, 0) / MB:.0f} of {budget / MB:.0f} MB used")
        for e in self.entries:
            state = "loading" if e.loading else ("in use" if e.in_use else f"idle {e.idle_s:.0f} s")
            out.append(f"  {e.key} ({e.kind}) on {e.device}: {e.size_bytes / MB:.0f} MB, {state}")
        return out


class ModelCache:
    """Loaded models under one byte budget per device. Safe to share across tasks of one loop."""

    def __init__(
        self,
        budgets: Mapping[str, int],
        *,
        idle_unload_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budgets = dict(budgets)
        self.idle_unload_s = idle_unload_s
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._lock = asyncio.Lock()
        self._counts = {"loads": 0, "evictions": 0, "idle_unloads": 0, "fallbacks": 0}
        self._sweeper: asyncio.Task[None] | None = None

    # -- public -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def use(self, spec: ModelSpec[T]) -> AsyncIterator[Loaded[T]]:
        """Load ``spec`` if needed and hold it for the block; it cannot be evicted meanwhile."""
        entry, created, evicted = await self._reserve(spec)
        try:
            await self._release_models(evicted, reason="lru")
            if created:
                await self._load(entry)
            model = await asyncio.shield(entry.ready)
            yield Loaded(model=model, device=entry.device, key=spec.key)
        finally:
            entry.users -= 1
            entry.last_used = self._clock()

    async def get(self, spec: ModelSpec[T]) -> Loaded[T]:
        """Load (or touch) a model without holding it: it may be evicted after this returns."""
        async with self.use(spec) as loaded:
            return loaded

    def loaded(self, key: str) -> bool:
        entry = self._entries.get(key)
        return bool(entry and entry.ready.done() and not entry.ready.exception())

    async def unload(self, key: str) -> bool:
        """Unload one model now (if loaded and not in use)."""
        async with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.users or not entry.ready.done():
                return False
            del self._entries[key]
        await self._release_models([entry], reason="asked")
        return True

    async def sweep(self) -> list[str]:
        """Unload models idle for longer than ``idle_unload_s``; returns their keys."""
        if self.idle_unload_s <= 0:
            return []
        now = self._clock()
        async with self._lock:
            idle = [e for e in self._entries.values()
                    if not e.users and e.ready.done() and now - e.last_used >= self.idle_unload_s]
            for e in idle:
                del self._entries[e.spec.key]
        await self._release_models(idle, reason="idle")
        return [e.spec.key for e in idle]

    def start_sweeper(self, interval_s: float | None = None) -> None:
        """Run ``sweep`` periodically on the running loop (idempotent)."""
        if self.idle_unload_s <= 0 or (self._sweeper and not self._sweeper.done()):
            return
        every = interval_s or max(1.0, min(60.0, self.idle_unload_s / 4))
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever(every))

    async def close(self) -> None:
        """Stop the sweeper and unload everything not in use."""
        if self._sweeper:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        async with self._lock:
            done = [e for e in self._entries.values() if not e.users and e.ready.done()]
            for e in done:
                del self._entries[e.spec.key]
        await self._release_models(done, reason="closed")

    def stats(self) -> CacheStats:
        now = self._clock()
        entries = tuple(
            EntryStats(e.spec.key, e.spec.kind, e.device, e.size, e.users > 0,
                       0.0 if e.users else max(0.0, now - e.last_used), not e.ready.done())
            for e in self._entries.values()
        )
        return CacheStats(dict(self.budgets), self._used(), entries, **self._counts)

    # -- placement --------------------------------------------------------------------------

    def _used(self) -> dict[str, int]:
        used: dict[str, int] = dict.fromkeys(self.budgets, 0)
        for e in self._entries.values():
            used[e.device] = used.get(e.device, 0) + e.size
        return used

    async def _reserve(self, spec: ModelSpec[Any]) -> tuple[_Entry, bool, list[_Entry]]:
        async with self._lock:
            entry = self._entries.get(spec.key)
            if entry is not None and not (entry.ready.done() and entry.ready.exception()):
                entry.users += 1
                self._entries.move_to_end(spec.key)
                return entry, False, []
            if entry is not None:  # a failed load: try again
                del self._entries[spec.key]
            device, size, evict = self._place(spec)
            for victim in evict:
                del self._entries[victim.spec.key]
            entry = _Entry(spec=spec, device=device, size=size,
                           ready=asyncio.get_running_loop().create_future(),
                           last_used=self._clock(), users=1)
            self._entries[spec.key] = entry
            _publish(self)
            return entry, True, evict

    def _place(self, spec: ModelSpec[Any]) -> tuple[str, int, list[_Entry]]:
        """The first device in the spec's list whose budget can hold it, evicting idle LRU models."""
        reasons: list[str] = []
        for i, device in enumerate(spec.devices):
            size = int(spec.sizes.get(device, spec.size_bytes))
            budget = self.budgets.get(device)
            if budget is None:
                reasons.append(f"there is no {device} device")
                continue
            if size > budget:
                reasons.append(f"it needs {size / MB:.0f} MB and the {device} budget is "
                               f"{budget / MB:.0f} MB")
                continue
            used = self._used().get(device, 0)
            evict: list[_Entry] = []
            if used + size > budget:
                for victim in self._entries.values():  # least recently used first
                    if victim.device != device or victim.users or not victim.ready.done():
                        continue
                    evict.append(victim)
                    used -= victim.size
                    if used + size <= budget:
                        break
                if used + size > budget:
                    reasons.append(f"{device} has {max(0, budget - used) / MB:.0f} MB free after "
                                   f"unloading every idle model and it needs {size / MB:.0f} MB")
                    continue
            if i > 0:
                self._counts["fallbacks"] += 1
                log.warning("Not enough memory for %s on %s (%s): loading it on %s instead.",
                            spec.key, spec.devices[0], "; ".join(reasons), device)
            return device, size, evict
        raise ResourceError(
            f"There is not enough memory to load {spec.key}: {'; '.join(reasons)}.",
            hint="Raise the memory budget (SAYSO_GPU_MEMORY_BUDGET_MB / SAYSO_CPU_MEMORY_BUDGET_MB) "
                 "or choose a smaller model.",
        )

    async def _load(self, entry: _Entry) -> None:
        spec = entry.spec
        t0 = time.monotonic()
        try:
            model = await spec.load(entry.device)
        except BaseException as exc:
            async with self._lock:
                if self._entries.get(spec.key) is entry:
                    del self._entries[spec.key]
            if not entry.ready.done():
                failure = exc if isinstance(exc, Exception) else ResourceError(
                    f"Loading {spec.key} was cancelled.")
                entry.ready.set_exception(failure)
                entry.ready.exception()  # mark retrieved: the caller re-raises it
            _publish(self)
            raise
        entry.ready.set_result(model)
        self._counts["loads"] += 1
        used = self._used().get(entry.device, 0)
        log.info("Loaded %s on %s in %.0f ms (%.0f MB; %s: %.0f of %.0f MB used).", spec.key,
                 entry.device, (time.monotonic() - t0) * 1000, entry.size / MB, entry.device,
                 used / MB, self.budgets.get(entry.device, 0) / MB)
        _publish(self)

    async def _release_models(self, entries: list[_Entry], *, reason: str) -> None:
        gpu = False
        for e in entries:
            if reason == "lru":
                self._counts["evictions"] += 1
            elif reason == "idle":
                self._counts["idle_unloads"] += 1
            model = e.ready.result() if e.ready.done() and not e.ready.exception() else None
            why = {"lru": "least recently used, to make room", "idle":
                   f"idle for {self._clock() - e.last_used:.0f} s"}.get(reason, reason)
            log.info("Unloaded %s from %s (%s); %.0f MB freed.", e.spec.key, e.device, why, e.size / MB)
            if model is not None and e.spec.unload is not None:
                try:
                    await e.spec.unload(model)
                except Exception as exc:  # an unload failure must not break the caller's load
                    log.warning("Unloading %s failed: %s", e.spec.key, exc)
            gpu = gpu or e.device.startswith("cuda")
        if gpu:
            empty_device_cache()
        if entries:
            import gc

            gc.collect()
            trim_process_memory()
        if entries:
            _publish(self)

    async def _sweep_forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.sweep()
            except Exception:
                log.exception("idle model sweep failed")


# ---------------------------------------------------------------------------------------------
# metrics

_gauges: dict[str, Any] = {}


def _publish(cache: ModelCache) -> None:
    """Mirror the cache into Prometheus gauges (sayso_model_memory_*)."""
    try:
        if not _gauges:
            from prometheus_client import Gauge

            _gauges["used"] = Gauge("sayso_model_memory_used_bytes",
                                    "Memory held by loaded models", ["device"])
            _gauges["budget"] = Gauge("sayso_model_memory_budget_bytes",
                                      "Model memory budget", ["device"])
            _gauges["models"] = Gauge("sayso_models_loaded", "Models loaded", ["device", "kind"])
        used = cache._used()
        for dev, budget in cache.budgets.items():
            _gauges["budget"].labels(device=dev).set(budget)
            _gauges["used"].labels(device=dev).set(used.get(dev, 0))
        counts: dict[tuple[str, str], int] = {}
        for e in cache._entries.values():
            counts[(e.device, e.spec.kind)] = counts.get((e.device, e.spec.kind), 0) + 1
        for dev in cache.budgets:
            for kind in ("stt", "tts", "llm", "other"):
                _gauges["models"].labels(device=dev, kind=kind).set(counts.get((dev, kind), 0))
    except Exception as exc:  # metrics must never break a load
        log.debug("model metrics not published: %s", exc)
