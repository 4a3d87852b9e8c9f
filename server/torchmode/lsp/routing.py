"""Where a document is analysed: in the server process when that is cheaper than the
hop to the worker and safe, else in the worker.

Measured (``benchmarks/bench_lsp.py --hop``): a ~300-line file analyses in about
4 ms of CPU; through the worker it takes a few milliseconds more (waking another
process; far more on a loaded machine), though the pipe round trip and the
pickling are under 0.1 ms. For a 1,500-line file the hop is a few percent, for
5,000 lines nothing. So a document is analysed here only when its text is small,
the edit is typing (not a paste) and its last analysis was fast, in CPU time (what
it would hold the server's interpreter for). Everything else, and the first
analysis of every document, runs in the worker, which keeps the time budget and the
crash recovery: a document that was quick becomes slow only through an edit, and
the analysis after a slow one goes back to the worker.

The analysis here gets the worker's project facts: the answers the worker's last
analysis of the document got (``replay.py``), kept only while the worker's facts
are the ones they came from (any index change or new worker drops them). A question
those answers do not hold sends the analysis to the worker. Results are the same
in both places.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..findings import AnalysisResult, Finding
from ..incremental_parse import LastParse
from ..process_memory import freeze_long_lived, without_cyclic_gc
from ..replay import Answers, ReplayFacts, Unanswered
from ..settings import Settings
from .engine import ProcessEngine

log = logging.getLogger(__name__)

LOCAL_MAX_LINES = 1000
LOCAL_MAX_CHARS = 60_000
LOCAL_MAX_SECONDS = 0.02   # CPU seconds the document's last analysis took, at most
LOCAL_MAX_GROWTH = 2_000   # characters more or less than then (typing, not a paste)


def _small(text: str) -> bool:
    return len(text) <= LOCAL_MAX_CHARS and text.count("\n") < LOCAL_MAX_LINES


@dataclass(frozen=True)
class _Last:
    """What the last analysis of a document left for the next one."""

    settings: Settings
    generation: int          # of the worker's facts the answers came from
    answers: Answers | None  # None: no file was indexed
    seconds: float
    length: int              # of the text analysed


class RoutedEngine:
    """The worker-process engine, with small, fast documents analysed in this process
    (see the module docstring). Every other call goes to the worker as it is."""

    def __init__(self, on_restart: Callable[[], None] | None = None,
                 on_notice: Callable[[str], None] | None = None) -> None:
        self._on_restart = on_restart
        self.worker = ProcessEngine(self._restarted, on_notice)
        self._lock = threading.Lock()
        self._generation = 0
        self._last: dict[str, _Last] = {}
        self.local_analyses = 0     # analysed in this process (for tests and diagnostics)
        self.parses = LastParse()   # of the document last analysed here

    def _restarted(self) -> None:
        self._facts_changed()
        if self._on_restart is not None:
            self._on_restart()

    def _facts_changed(self) -> None:
        with self._lock:
            self._generation += 1
            self._last.clear()

    # -- analysis ------------------------------------------------------------------------

    def analyze(self, text: str, path: str, settings: Settings) -> AnalysisResult:
        if not _small(text):  # the worker only; its answers are not needed here
            with self._lock:
                self._last.pop(path, None)
                self.parses.forget(path)
            return self.worker.analyze(text, path, settings)
        local = self._local(text, path, settings)
        if local is not None:
            return local
        with self._lock:
            generation = self._generation
        result, answers, seconds = self.worker.analyze_answered(text, path, settings)
        with self._lock:
            if generation == self._generation:
                self._last[path] = _Last(settings, generation, answers, seconds, len(text))
        return result

    def _local(self, text: str, path: str, settings: Settings) -> AnalysisResult | None:
        """The analysis made here, or None when the document belongs in the worker."""
        with self._lock:
            last = self._last.get(path)
            if (last is None or last.generation != self._generation
                    or last.settings != settings or last.seconds > LOCAL_MAX_SECONDS
                    or abs(len(text) - last.length) > LOCAL_MAX_GROWTH):
                return None
        from ..analyzer import analyze

        start = time.thread_time()
        try:
            facts = ReplayFacts(last.answers) if last.answers is not None else None
            with without_cyclic_gc():
                result = analyze(text, path, settings, facts, self.parses.parser(path))
        except Unanswered:
            return None      # a question the worker's facts answer
        except Exception:
            log.exception("analysing %s in the server process failed; using the worker", path)
            return None
        seconds = time.thread_time() - start
        with self._lock:
            if self._last.get(path) is last:   # the next analysis goes where this one says
                self._last[path] = _Last(settings, last.generation, last.answers, seconds,
                                         len(text))
        self.local_analyses += 1
        return result

    # -- everything else goes to the worker ----------------------------------------------

    def warm(self) -> None:
        self.worker.warm()
        from .. import analyzer  # noqa: F401  (the analyses made here)

        freeze_long_lived()

    def offered_fixes(self, text: str, path: str, finding: Finding, settings: Settings) -> Any:
        return self.worker.offered_fixes(text, path, finding, settings)

    def fix_all(self, text: str, path: str, settings: Settings, unsafe: bool) -> Any:
        return self.worker.fix_all(text, path, settings, unsafe)

    def update(self, path: str, text: str | None = None) -> bool:
        changed = self.worker.update(path, text)
        if changed:
            self._facts_changed()
        return changed

    def remove(self, path: str) -> None:
        self._facts_changed()
        self.worker.remove(path)

    def affected(self, paths: list[str]) -> list[str]:
        return self.worker.affected(paths)

    def known_classes(self, qualnames: list[str]) -> list[bool]:
        return self.worker.known_classes(qualnames)

    def worker_pid(self) -> int | None:
        return self.worker.worker_pid()

    def close(self) -> None:
        self.worker.close()
