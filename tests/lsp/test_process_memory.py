"""The cyclic collector is off while analyses run in the server and its worker, and on
again once the last of them ends; freed heap memory goes back to the system
(``process_memory.py``)."""

from __future__ import annotations

import gc
import os
import platform
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from torchmode import analyzer
from torchmode.lsp.engine import ThreadEngine, _rss_bytes
from torchmode.process_memory import release_free_memory, without_cyclic_gc
from torchmode.settings import DEFAULT_SETTINGS


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_off_inside_on_after_even_when_nested() -> None:
    with without_cyclic_gc():
        assert not gc.isenabled()
        with without_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with without_cyclic_gc():
        pass
    assert not gc.isenabled()


def test_on_again_only_when_the_last_of_overlapping_analyses_ends() -> None:
    inside, release = threading.Event(), threading.Event()

    def other_analysis() -> None:
        with without_cyclic_gc():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_analysis)
    thread.start()
    assert inside.wait(10)
    with without_cyclic_gc():
        pass
    assert not gc.isenabled()          # the other one still runs
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_on_again_after_an_analysis_that_raised() -> None:
    with pytest.raises(RuntimeError), without_cyclic_gc():
        raise RuntimeError("engine bug")
    assert gc.isenabled()


def test_the_engine_analyses_with_the_collector_off(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = analyzer.analyze

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(analyzer, "analyze", watched)
    ThreadEngine().analyze("import torch\n", str(tmp_path / "a.py"), DEFAULT_SETTINGS)
    assert seen == [False]
    assert gc.isenabled()


def _rss_mb() -> float:
    found = _rss_bytes(os.getpid())
    assert found is not None
    return found / 2**20


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_memory_goes_back_to_the_system() -> None:
    """What the worker does after each reply: blocks freed below one still in use
    stay mapped until the heap is trimmed."""
    blocks = [bytes(2000) + bytes([i % 256]) for i in range(20_000)]   # about 40 MB
    kept = blocks[-1]    # pins the top of the heap: plain free() cannot shrink it
    del blocks
    before = _rss_mb()
    release_free_memory()
    assert before - _rss_mb() > 20
    assert kept
