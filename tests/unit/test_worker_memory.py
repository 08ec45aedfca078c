"""The model memory manager and device choice, on the CPU with fake model sizes (no torch)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sayso.config import load_settings
from sayso.worker.memory import (
    MB,
    ModelCache,
    ModelSpec,
    ResourceError,
    budgets_from_settings,
    choose_device,
    init_torch_process,
)
from tests.fakes import VirtualTimeLoop


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Models:
    """Records loads/unloads; each 'model' is just its key and device."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.unloaded: list[str] = []
        self.any_unloaded = asyncio.Event()
        self.load_count = 0

    def spec(self, key: str, mb: int, *, devices=("cpu",), kind="stt", fail=False, sizes=None):
        async def load(device: str) -> str:
            self.load_count += 1
            await asyncio.sleep(0)  # others ask for it while it loads
            if fail:
                raise RuntimeError("model file is corrupt")
            self.loaded.append(f"{key}@{device}")
            return f"{key}@{device}"

        async def unload(model: str) -> None:
            self.unloaded.append(model)
            self.any_unloaded.set()

        return ModelSpec(key=key, kind=kind, size_bytes=mb * MB, load=load, unload=unload,
                         devices=devices, sizes=sizes or {})


async def test_lazy_load_once_and_shared_by_concurrent_users() -> None:
    models = Models()
    cache = ModelCache({"cpu": 1000 * MB})
    spec = models.spec("stt:whisper", 150)
    assert not cache.loaded("stt:whisper")  # nothing loads before first use
    results = await asyncio.gather(*(cache.get(spec) for _ in range(5)))
    assert models.load_count == 1
    assert {r.model for r in results} == {"stt:whisper@cpu"}
    assert cache.stats().used["cpu"] == 150 * MB


async def test_lru_eviction_across_stt_tts_llm_within_budget(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sayso.worker.memory")
    models, clock = Models(), Clock()
    cache = ModelCache({"cuda": 1000 * MB}, clock=clock)
    stt = models.spec("stt:whisper", 400, devices=("cuda",), kind="stt")
    tts = models.spec("tts:chatterbox", 400, devices=("cuda",), kind="tts")
    llm = models.spec("llm:qwen", 400, devices=("cuda",), kind="llm")
    await cache.get(stt)
    clock.t += 1
    await cache.get(tts)
    clock.t += 1
    await cache.get(stt)  # stt is now the most recently used
    clock.t += 1
    await cache.get(llm)  # needs room: the least recently used (tts) goes
    assert models.unloaded == ["tts:chatterbox@cuda"]
    keys = {e.key for e in cache.stats().entries}
    assert keys == {"stt:whisper", "llm:qwen"}
    assert cache.stats().used["cuda"] <= 1000 * MB
    assert "Unloaded tts:chatterbox from cuda (least recently used" in caplog.text


async def test_model_in_use_is_never_evicted_and_cpu_fallback_is_announced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    models = Models()
    cache = ModelCache({"cuda": 1000 * MB, "cpu": 4000 * MB})
    big = models.spec("tts:chatterbox", 800, devices=("cuda",), kind="tts")
    whisper = models.spec("stt:whisper", 500, devices=("cuda", "cpu"))
    async with cache.use(big) as held:
        assert held.device == "cuda"
        with caplog.at_level(logging.WARNING, logger="sayso.worker.memory"):
            got = await asyncio.wait_for(cache.get(whisper), timeout=5)  # never waits for memory
        assert got.device == "cpu"
        assert "loading it on cpu instead" in caplog.text
        assert cache.loaded("tts:chatterbox")
    assert models.unloaded == []
    assert cache.stats().fallbacks == 1


async def test_model_larger_than_budget_falls_back_or_fails_with_one_sentence() -> None:
    models = Models()
    cache = ModelCache({"cuda": 1000 * MB, "cpu": 2000 * MB})
    fits_cpu = models.spec("stt:large", 1500, devices=("cuda", "cpu"))
    assert (await cache.get(fits_cpu)).device == "cpu"
    too_big = models.spec("llm:huge", 5000, devices=("cuda", "cpu"), kind="llm")
    with pytest.raises(ResourceError) as err:
        await cache.get(too_big)
    assert err.value.code == "resources.exhausted"
    assert "not enough memory to load llm:huge" in err.value.message
    assert "SAYSO_GPU_MEMORY_BUDGET_MB" in (err.value.hint or "")
    assert cache.loaded("stt:large")  # a refused load leaves the others alone


async def test_no_gpu_means_cpu_with_a_per_device_size() -> None:
    models = Models()
    cache = ModelCache({"cpu": 2000 * MB})  # a laptop: no cuda budget at all
    spec = models.spec("stt:whisper", 300, devices=("cuda", "cpu"), sizes={"cpu": 600 * MB})
    loaded = await cache.get(spec)
    assert loaded.device == "cpu"
    assert cache.stats().used["cpu"] == 600 * MB


async def test_idle_unload_after_timeout_but_not_while_in_use() -> None:
    models, clock = Models(), Clock()
    cache = ModelCache({"cpu": 1000 * MB}, idle_unload_s=60, clock=clock)
    tts = models.spec("tts:piper", 160, kind="tts")
    stt = models.spec("stt:whisper", 150)
    await cache.get(tts)
    async with cache.use(stt):
        clock.t += 61
        assert await cache.sweep() == ["tts:piper"]  # stt is held, so it stays
        assert cache.loaded("stt:whisper")
    clock.t += 30
    assert await cache.sweep() == []
    clock.t += 31
    assert await cache.sweep() == ["stt:whisper"]
    assert models.unloaded == ["tts:piper@cpu", "stt:whisper@cpu"]
    await cache.get(tts)  # used again: loads again, lazily
    assert models.load_count == 3
    assert cache.stats().idle_unloads == 2


async def test_failed_load_is_reported_and_retried() -> None:
    models = Models()
    cache = ModelCache({"cpu": 1000 * MB})
    bad = models.spec("stt:whisper", 100, fail=True)
    with pytest.raises(RuntimeError, match="corrupt"):
        await cache.get(bad)
    assert cache.stats().used["cpu"] == 0  # the reservation is returned
    with pytest.raises(RuntimeError):
        await cache.get(bad)
    assert models.load_count == 2


def test_the_sweeper_unloads_an_idle_model_on_time_and_close_unloads_the_rest() -> None:
    """On virtual time: the 10 min idle timeout and the sweeps pass without real waiting."""
    models = Models()

    async def scenario() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        cache = ModelCache({"cpu": 1000 * MB}, idle_unload_s=600, clock=loop.time)
        await cache.get(models.spec("tts:piper", 10, kind="tts"))
        t_used = loop.time()
        cache.start_sweeper(interval_s=30)
        await models.any_unloaded.wait()
        gone = loop.time() - t_used
        await cache.get(models.spec("stt:whisper", 10))
        await cache.close()
        return gone, loop.time()

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        gone, _ = runner.run(scenario())
    assert models.unloaded[0] == "tts:piper@cpu"
    assert 600 <= gone <= 630  # unloaded by the first sweep after 10 minutes idle
    assert "stt:whisper@cpu" in models.unloaded


def test_device_choice_and_fallback(caplog: pytest.LogCaptureFixture) -> None:
    assert choose_device("cpu").device == "cpu"
    gpu = choose_device("auto", probe=lambda: True)
    assert (gpu.device, gpu.dtype) == ("cuda", "float16")
    assert choose_device("auto", probe=lambda: False).device == "cpu"
    with caplog.at_level(logging.WARNING, logger="sayso.worker.memory"):
        asked = choose_device("cuda", probe=lambda: False)
    assert asked.device == "cpu" and asked.dtype == "float32"
    assert "CUDA was requested but no CUDA GPU is available" in caplog.text
    with pytest.raises(ResourceError):
        choose_device("tpu")


def test_budgets_from_settings_and_torch_free_process(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(gpu_memory_fraction=0.5)
    b = budgets_from_settings(s, gpu_total=8000 * MB, ram_total=16000 * MB)
    assert b == {"cpu": 8000 * MB, "cuda": 4000 * MB}
    s2 = load_settings(gpu_memory_budget_mb=3000, cpu_memory_budget_mb=1000)
    assert budgets_from_settings(s2, gpu_total=None) == {"cpu": 1000 * MB}
    assert budgets_from_settings(s2, gpu_total=8000 * MB)["cuda"] == 3000 * MB
    # without CUDA (a laptop) the memory fraction is simply not applied
    monkeypatch.setattr("sayso.worker.memory.cuda_available", lambda: False)
    assert init_torch_process(0.8) is False
    with pytest.raises(ResourceError):
        init_torch_process(1.5)
