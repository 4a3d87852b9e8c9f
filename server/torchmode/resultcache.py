"""A file's report from an earlier ``torchmode check``, when nothing it depends on changed.

A report is a function of the file's bytes, its path and module, its settings and
what its analysis read of the project facts. The first four make the key; the last
is recorded as the questions asked and checked against the current facts before the
stored report is used (``reads.py``). So re-running over a tree where one file
changed analyses that file and the files whose answers it changed, and prints what
a run without the cache prints.

Never used when fixing: ``--fix`` and ``--diff`` always analyse afresh.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .cache import DiskCache, content_key
from .output import FileReport
from .reads import Reads, RecordingFacts, Uncanonical, canonical

if TYPE_CHECKING:
    from .check_file import Task
    from .solve import ProjectFacts

Check = Callable[[Any, bytes | None], FileReport]


@dataclass(frozen=True)
class StoredReport:
    reads: Reads
    report: FileReport


def cached_report(task: Task, project: ProjectFacts | None, store: DiskCache,
                  check: Check) -> FileReport:
    """The stored report of ``task`` if it still holds, else ``check(facts, data)``
    run with its reads recorded (and stored for next time)."""
    from .project import module_name_of

    try:
        with open(task.path, "rb") as handle:
            data = handle.read()
    except OSError:
        return check(project, None)  # reported as the uncached path reports it
    try:
        key = content_key("report", task.path, module_name_of(task.path), data,
                          canonical(task.settings), project is None)
    except Uncanonical:
        return check(project, data)
    stored = store.get("report", key)
    if isinstance(stored, StoredReport) and stored.reads.still_hold(project):
        return stored.report
    recording = RecordingFacts(project) if project is not None else None
    report = check(recording, data)
    reads = recording.reads() if recording is not None else Reads((), "")
    if report.error is None and reads.replayable:
        store.put("report", key, StoredReport(reads, report))
    return report


def notebook_text(data: bytes) -> str:
    """A notebook's bytes decoded exactly as ``open(path, encoding="utf-8")`` reads them."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
