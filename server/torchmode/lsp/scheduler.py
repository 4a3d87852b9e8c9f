"""Debounced analysis off the event loop, one document (or notebook) at a time.

Each change restarts the document's debounce timer. When it fires, a snapshot of the
current text is analysed on a worker thread, so hovers and code actions keep being
answered meanwhile. A result is delivered only if the document still has the
version it was computed for; results for outdated versions are dropped, never
published. Per document at most one analysis runs; a change that arrives during
one re-arms the timer, so 100 rapid edits end in exactly one delivered result, for
the final version.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..findings import AnalysisResult, ForwardCallFact, ParseError
from ..settings import Settings
from .documents import Snapshot

log = logging.getLogger(__name__)
RETRY_DELAY_S = 0.1


@dataclass
class Analysis:
    """One finished analysis of one snapshot."""

    snapshot: Snapshot
    result: AnalysisResult
    settings: Settings
    seconds: float = 0.0

    @property
    def version(self) -> int | None:
        return self.snapshot.version

    @property
    def parsed(self) -> bool:
        return not isinstance(self.result.outcome, ParseError)

    @cached_property
    def entities_by_line(self) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        for occ in getattr(self.result, "entities", None) or ():
            out.setdefault(occ.range.start.line, []).append(occ)
        return out

    @cached_property
    def entities_by_name(self) -> dict[str, Any]:
        """An occurrence per entity name that knows its class (for hovers on calls)."""
        out: dict[str, Any] = {}
        for occ in getattr(self.result, "entities", None) or ():
            if occ.entity not in out or (
                getattr(occ, "class_name", None)
                and not getattr(out[occ.entity], "class_name", None)
            ):
                out[occ.entity] = occ
        return out

    @cached_property
    def calls_by_line(self) -> dict[int, list[ForwardCallFact]]:
        out: dict[int, list[ForwardCallFact]] = {}
        for call in self.result.forward_calls:
            out.setdefault(call.line, []).append(call)
        return out


@dataclass
class _DocState:
    timer: asyncio.TimerHandle | None = None
    running: bool = False
    dirty: bool = False
    retried: int | None = None  # the version whose failed analysis was retried
    quarantined: bool = False  # too slow to analyse: left alone until lifted
    last: Analysis | None = None  # the last analysis of the current version (parsed or not)
    last_good: Analysis | None = None  # the last analysis that parsed
    waiters: list[asyncio.Future[Analysis | None]] = field(default_factory=list)


def is_too_slow(exc: BaseException) -> bool:
    """The analysis was stopped by the time budget (not a crash)."""
    from .engine import AnalysisTimeout

    return isinstance(exc, AnalysisTimeout)


class AnalysisScheduler:
    """Runs ``analyse(snapshot)`` on ``executor`` after a debounce, per key."""

    def __init__(
        self,
        executor: Executor,
        snapshot_of: Callable[[str], Snapshot | None],
        analyse: Callable[[Snapshot], Analysis],
        on_result: Callable[[Analysis, Analysis | None], None],
        on_too_slow: Callable[[str], None] = lambda key: None,
    ) -> None:
        self._executor = executor
        self._snapshot_of = snapshot_of
        self._analyse = analyse
        self._on_result = on_result  # (new analysis, previous good analysis)
        self._on_too_slow = on_too_slow  # a document went over the time budget
        self._docs: dict[str, _DocState] = {}

    def state(self, key: str) -> _DocState | None:
        return self._docs.get(key)

    def last_good(self, key: str) -> Analysis | None:
        state = self._docs.get(key)
        return state.last_good if state else None

    def keys(self) -> list[str]:
        return list(self._docs)

    def request(self, key: str, delay_s: float) -> None:
        """(Re)start the debounce timer of ``key``."""
        state = self._docs.setdefault(key, _DocState())
        if state.timer is not None:
            state.timer.cancel()
        loop = asyncio.get_running_loop()
        state.timer = loop.call_later(max(delay_s, 0.0), self._fire, key)

    def quarantine(self, key: str) -> None:
        """Stop analysing ``key`` (it exceeds the time budget) until ``lift``."""
        state = self._docs.setdefault(key, _DocState())
        state.quarantined = True
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        state.dirty = False
        state.last = state.last_good = None
        self._wake(state)

    def lift(self, key: str) -> bool:
        """Analyse ``key`` again (e.g. on save); True if it was quarantined."""
        state = self._docs.get(key)
        if state is None or not state.quarantined:
            return False
        state.quarantined = False
        return True

    def is_quarantined(self, key: str) -> bool:
        state = self._docs.get(key)
        return bool(state and state.quarantined)

    def forget(self, key: str) -> None:
        """The document closed: stop its work; pending waiters get ``None``."""
        state = self._docs.pop(key, None)
        if state is None:
            return
        if state.timer is not None:
            state.timer.cancel()
        for waiter in state.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _fire(self, key: str) -> None:
        state = self._docs.get(key)
        if state is None:
            return
        state.timer = None
        if state.quarantined:
            return
        if state.running:
            state.dirty = True
            return
        snap = self._snapshot_of(key)
        if snap is None:
            return
        state.running = True
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._analyse, snap)
        future.add_done_callback(lambda f: self._done(key, snap, f))

    def _done(self, key: str, snap: Snapshot, future: asyncio.Future[Analysis]) -> None:
        state = self._docs.get(key)
        if state is None:  # closed meanwhile
            return
        state.running = False
        analysis: Analysis | None = None
        if future.cancelled():
            log.info("analysis of %s cancelled", key)
        elif (exc := future.exception()) is not None and is_too_slow(exc):
            log.warning("analysis of %s is over the time budget: %s", key, exc)
            self.quarantine(key)
            self._on_too_slow(key)
            return
        elif exc is not None:
            log.error("analysis of %s failed: %r", key, exc)
            if state.retried != snap.version:  # e.g. the worker process died: once more
                state.retried = snap.version
                if state.timer is None:
                    self.request(key, RETRY_DELAY_S)
        else:
            analysis = future.result()
        if state.dirty:
            state.dirty = False
            if state.timer is None:
                self._fire(key)
        current = self._snapshot_of(key)
        if analysis is None or current is None or current.version != snap.version:
            return  # outdated: dropped, a newer analysis is scheduled
        previous = state.last_good
        state.last = analysis
        if analysis.parsed:
            state.last_good = analysis
        if state.timer is None and not state.running:
            self._wake(state)
        self._on_result(analysis, previous)

    def _wake(self, state: _DocState) -> None:
        waiters, state.waiters = state.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(state.last_good)

    def is_settled(self, key: str) -> bool:
        """No timer or analysis pending and the last analysis is of the current version."""
        state = self._docs.get(key)
        if state is None or state.quarantined:
            return True
        if state.timer is not None or state.running or state.last is None:
            return False
        current = self._snapshot_of(key)
        return current is not None and current.version == state.last.version

    async def settled(self, key: str) -> Analysis | None:
        """The last good analysis once the current version has been analysed."""
        state = self._docs.get(key)
        if state is None:
            return None
        if self.is_settled(key):
            return state.last_good
        if state.timer is None and not state.running:
            self._fire(key)  # nothing scheduled (e.g. settings changed): analyse now
        waiter: asyncio.Future[Analysis | None] = asyncio.get_running_loop().create_future()
        state.waiters.append(waiter)
        return await waiter
