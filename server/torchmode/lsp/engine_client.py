"""The one way the language server reaches the engine.

Analysis, fix verification, fix-all, the workspace index and the import lookups all
go through one ``EngineClient``, so a quick fix is verified with the same cross-file
facts as the analysis that reported its finding, and hovers read analyses made
with them. Two implementations (``torchmode.lsp.engine``):

- the worker process (``TORCHMODE_LSP_ENGINE=process``): an isolated child process
  owning the project index, with a time budget per call, crash recovery (a dead
  worker is replaced and the server re-indexes) and a fall-back to the server
  process after repeated deaths;
- in process (``TORCHMODE_LSP_ENGINE=thread``): the same calls on the server's own
  threads under the index's lock;
- routed (the default, ``torchmode.lsp.routing``): the worker, except that a small
  document whose last analysis was fast is analysed in the server process with the
  worker's answers, where the hop would cost more than the analysis.

Every call blocks: the server makes them from its one executor, never from the
event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

from ..findings import AnalysisResult, Finding
from ..settings import Settings
from .engine import AnalysisTimeout, ProcessEngine, ThreadEngine, WorkerDied
from .routing import RoutedEngine

__all__ = [
    "AnalysisTimeout",
    "EngineClient",
    "InProcessEngine",
    "RoutedEngine",
    "WorkerDied",
    "WorkerProcessEngine",
    "make_engine_client",
]


class EngineClient(Protocol):
    """What the server asks the engine. ``AnalysisTimeout`` and ``WorkerDied`` are
    the two expected failures; anything else is a bug, reported as such."""

    def warm(self) -> None:
        """Import the engine and the fix machinery before the first request needs them."""

    def analyze(self, text: str, path: str, settings: Settings) -> AnalysisResult:
        """Analyse one document's text with the project facts."""

    def offered_fixes(self, text: str, path: str, finding: Finding, settings: Settings) -> Any:
        """The fixes of ``finding`` that pass verification (``torchmode.fixes.Fix``)."""

    def fix_all(self, text: str, path: str, settings: Settings, unsafe: bool) -> Any:
        """Every fix of the document applied (``torchmode.fixes.FixAllOutcome``)."""

    def update(self, path: str, text: str | None = None) -> bool:
        """Re-summarise one workspace file (read from disk when ``text`` is None);
        True when the project facts may have changed."""

    def remove(self, path: str) -> None:
        """A workspace file was deleted."""

    def affected(self, paths: list[str]) -> list[str]:
        """The documents among ``paths`` whose last analysis read project facts that
        changed since (or that were never analysed): only these need analysing again."""

    def known_classes(self, qualnames: list[str]) -> list[bool]:
        """Which of these ``module.Class`` names the project facts know."""

    def close(self) -> None:
        """Stop (the worker exits); later calls fail."""


InProcessEngine = ThreadEngine
WorkerProcessEngine = ProcessEngine


def make_engine_client(
    on_restart: Callable[[], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> EngineClient:
    """Routed unless ``TORCHMODE_LSP_ENGINE`` says ``thread`` or ``process``.
    ``on_restart``: a new worker (or the in-process fall-back) starts with an empty
    index; ``on_notice``: a message for the user (from any thread)."""
    kind = os.environ.get("TORCHMODE_LSP_ENGINE", "routed")
    if kind == "thread":
        return InProcessEngine()
    if kind == "process":
        return WorkerProcessEngine(on_restart, on_notice)
    return RoutedEngine(on_restart, on_notice)


def worker_pid(engine: EngineClient) -> int | None:
    """The worker's process id (None in process): for diagnostics and tests."""
    if isinstance(engine, (ProcessEngine, RoutedEngine)):
        return engine.worker_pid()
    return None
