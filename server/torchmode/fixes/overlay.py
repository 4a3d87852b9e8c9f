"""The project as it would be after a fix: the same index with some files' texts replaced.

Verifying a fix that changes what a function does to its arguments (``model.eval()``
at the top of ``evaluate``), or that edits two files, means analysing the files that
call it with the fixed text in the index: the same cross-file facts as the analysis,
one step later. The original index is never changed (the language server's worker
and the CLI keep using it); the copy shares the unchanged entries and starts with
empty caches.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..project import ProjectIndex


def project_with(project: ProjectIndex | None,
                 texts: Mapping[str, str]) -> ProjectIndex | None:
    """A copy of ``project`` in which the files of ``texts`` have these texts."""
    if project is None or not texts:
        return project
    copy = object.__new__(type(project))
    copy.__dict__.update(project.__getstate__())  # the caches start empty
    copy.entries = dict(project.entries)
    copy._by_module = {k: list(v) for k, v in project._by_module.items()}  # noqa: SLF001
    for path, text in texts.items():
        copy.update(path, text)
    return copy


def dependents(project: ProjectIndex | None, path: str, names: Iterable[str]) -> list[str]:
    """Other files of the project that may call the functions ``names`` of ``path``
    (they import from its module and mention one of the names)."""
    wanted = [n for n in names if n]
    if project is None or not wanted:
        return []
    from .complete import project_texts

    module = os.path.splitext(os.path.basename(path))[0]
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, wanted)) + r")\b")
    here = os.path.abspath(path)
    found = []
    for other, text in project_texts(project):
        if os.path.abspath(other) == here or module not in text or "import" not in text:
            continue
        if pattern.search(text):
            found.append(other)
    return found


__all__ = ["dependents", "project_with"]
