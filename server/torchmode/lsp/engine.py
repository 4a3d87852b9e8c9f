"""Where the engine runs: a worker process (default) or threads of the server process.

The server's event loop must answer hovers and code actions while a 5,000-line file
is analysed. On threads, the analysis holds the GIL (``ast.parse`` alone for tens
of milliseconds), so the loop waits; in a worker process it does not. The worker
owns the cross-file ``ProjectIndex`` too: index updates, analyses and verified
fixes run there in the order they were asked for, with no lock.

Both implementations offer the same blocking calls; the server calls them from
its own threads. A crashed worker is replaced and re-indexes the workspace.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from ..findings import AnalysisResult, Finding
from ..settings import Settings
from .index import WorkspaceIndex

log = logging.getLogger(__name__)


class ThreadEngine:
    """The engine in this process; calls that use the index hold its lock."""

    def __init__(self) -> None:
        self.index = WorkspaceIndex()

    def warm(self) -> None:
        from .. import analyzer, fixes  # noqa: F401

    def analyze(self, text: str, path: str, settings: Settings) -> AnalysisResult:
        from ..analyzer import analyze

        with self.index.lock:
            return analyze(text, path, settings, self.index.project())

    def offered_fixes(self, text: str, path: str, finding: Finding, settings: Settings) -> Any:
        from ..fixes import offered_fixes

        with self.index.lock:
            return offered_fixes(text, path, finding, settings, self.index.project())

    def fix_all(self, text: str, path: str, settings: Settings, unsafe: bool) -> Any:
        from ..fixes import fix_all

        with self.index.lock:
            return fix_all(text, path, settings, unsafe=unsafe, project=self.index.project())

    def update(self, path: str, text: str | None = None) -> bool:
        return self.index.update(path, text)

    def remove(self, path: str) -> None:
        self.index.remove(path)

    def scan(self, roots: list[str], budget_s: float) -> int:
        return self.index.scan(roots, budget_s)

    def known_classes(self, qualnames: list[str]) -> list[bool]:
        with self.index.lock:
            project = self.index.project()
            if project is None:
                return [True] * len(qualnames)  # no index: nothing to look for
            return [project.find_class(q) is not None for q in qualnames]

    def close(self) -> None:
        pass


# --- the worker process ----------------------------------------------------------------

_LOCAL: ThreadEngine | None = None
MAX_RESTARTS = 3


def _worker_init(parent: int) -> None:
    global _LOCAL
    _LOCAL = ThreadEngine()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """The server may be killed without a shutdown: never outlive it."""
    import time

    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _call(method: str, *args: Any) -> Any:
    assert _LOCAL is not None
    return getattr(_LOCAL, method)(*args)


class ProcessEngine:
    """The engine in one worker process (spawned: no fork of a threaded server)."""

    def __init__(self, on_restart: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._on_restart = on_restart
        self._closed = False
        self._restarts = 0
        self._fallback: ThreadEngine | None = None  # after MAX_RESTARTS broken workers

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine is shut down")
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    1, mp_context=context, initializer=partial(_worker_init, os.getpid())
                )
            return self._pool

    def _run(self, method: str, *args: Any) -> Any:
        if self._fallback is not None:
            return getattr(self._fallback, method)(*args)
        pool = self._executor()
        try:
            return pool.submit(_call, method, *args).result()
        except BrokenProcessPool:
            if self._closed:
                raise
            restarted = False
            with self._lock:
                if self._pool is pool:  # the first caller to notice replaces it
                    self._pool = None
                    self._restarts += 1
                    restarted = True
                    if self._restarts > MAX_RESTARTS:
                        log.error("the analysis worker keeps dying; analysing in the server")
                        self._fallback = ThreadEngine()
                    else:
                        log.error("the analysis worker died; starting a new one")
            pool.shutdown(wait=False, cancel_futures=True)
            if restarted and self._on_restart is not None:
                self._on_restart()  # the new worker's index is empty: re-index
            raise

    def warm(self) -> None:
        self._run("warm")
        from .. import fixes  # noqa: F401  (edits and noqa comments are made here)

    def analyze(self, text: str, path: str, settings: Settings) -> AnalysisResult:
        result: AnalysisResult = self._run("analyze", text, path, settings)
        return result

    def offered_fixes(self, text: str, path: str, finding: Finding, settings: Settings) -> Any:
        return self._run("offered_fixes", text, path, finding, settings)

    def fix_all(self, text: str, path: str, settings: Settings, unsafe: bool) -> Any:
        return self._run("fix_all", text, path, settings, unsafe)

    def update(self, path: str, text: str | None = None) -> bool:
        return bool(self._run("update", path, text))

    def remove(self, path: str) -> None:
        self._run("remove", path)

    def scan(self, roots: list[str], budget_s: float) -> int:
        return int(self._run("scan", roots, budget_s))

    def known_classes(self, qualnames: list[str]) -> list[bool]:
        known: list[bool] = self._run("known_classes", qualnames)
        return known

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


Engine = ThreadEngine | ProcessEngine


def make_engine(on_restart: Callable[[], None] | None = None) -> Engine:
    """A worker process unless ``TORCHMODE_LSP_ENGINE=thread``."""
    if os.environ.get("TORCHMODE_LSP_ENGINE", "process") == "thread":
        return ThreadEngine()
    return ProcessEngine(on_restart)
