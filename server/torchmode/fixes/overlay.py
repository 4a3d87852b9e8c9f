"""The project as it would be after a fix: the same index with some files' texts replaced.

Verifying a fix that changes what a function does to its arguments (``model.eval()``
at the top of ``evaluate``), or that edits two files, means analysing the files that
call it with the fixed text in the index: the same cross-file facts as the analysis,
one step later. The original is never changed (the language server's worker and
the CLI keep using it); the copy shares the unchanged entries and solves afresh.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..project import Project


def project_with(project: Project | None,
                 texts: Mapping[str, str]) -> Project | None:
    """``project`` (an index or its immutable facts) with the files of ``texts``
    holding these texts; the original is never changed."""
    if project is None or not texts:
        return project
    from ..project import FileInput, ProjectIndex, file_key, module_name_of

    if not isinstance(project, ProjectIndex):  # facts (maybe recording what is read)
        return project.with_texts(texts)
    entries = dict(project.entries)
    for path, text in texts.items():
        old = entries.get(file_key(path))
        module = old.module if old is not None else module_name_of(path)
        entries[file_key(path)] = FileInput(path, module, text,
                                            old.settings if old is not None else None)
    copy = ProjectIndex()
    copy.entries = entries
    return copy


def dependents(project: Project | None, path: str, names: Iterable[str]) -> list[str]:
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
    for other, text in project_texts(project, module):
        if os.path.abspath(other) == here or "import" not in text:
            continue
        if pattern.search(text):
            found.append(other)
    return found


__all__ = ["dependents", "project_with"]
