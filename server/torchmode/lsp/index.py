"""The cross-file index of the workspace, kept up to date in the background.

``torchmode.project.ProjectIndex`` holds cheap summaries (model classes and their
mode-dependent layers, which functions set a parameter to eval/train). The server
fills it from the workspace's Python files on a background thread with a time
budget, and refreshes single files on save and on watched-file events. Analyses
read it under the same lock, so a half-updated index is never seen.
User code is only read, never imported or executed.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".env",
        "node_modules",
        "__pycache__",
        "site-packages",
        "dist",
        "build",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".ipynb_checkpoints",
    }
)
MAX_FILE_BYTES = 2_000_000


def python_files(roots: Iterable[str], limit: int) -> Iterator[str]:
    """Python files under ``roots``, skipping virtualenvs, caches and hidden folders.

    Only regular files (a symlink to one counts): a FIFO named ``pipe.py`` would block
    the read, a link to ``/dev/zero`` would never end. Folder symlinks are not followed.
    """
    count = 0
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(files):
                if not name.endswith((".py", ".pyi")):
                    continue
                path = os.path.join(folder, name)
                if regular_size(path) is None:
                    continue
                yield path
                count += 1
                if count >= limit:
                    return


def regular_size(path: str) -> int | None:
    """The size of ``path`` if it is a regular file (after symlinks), else None."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def read_source(path: str, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """The text of a regular Python file of at most ``max_bytes``, else None.

    Opened non-blocking and checked on the open file itself (a file swapped for a FIFO
    or a device between the check and the open is still refused); never reads more
    than ``max_bytes + 1`` bytes.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        return None
    from ..source import decode_source

    try:
        return decode_source(data)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        return None


class WorkspaceIndex:
    """A ``ProjectIndex`` guarded by a lock, filled by a background scan."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._index: Any = None
        self._unavailable = False
        self.scanned_files = 0
        self.scan_seconds = 0.0
        self.scan_complete = False

    def project(self) -> Any:
        """The ``ProjectIndex`` (created on first use), or None if the engine has none."""
        if self._index is None and not self._unavailable:
            try:
                from ..project import ProjectIndex
            except ImportError:
                self._unavailable = True
                return None
            self._index = ProjectIndex()
        return self._index

    def update(self, path: str, text: str | None = None) -> bool:
        """Re-index one file (read from disk when ``text`` is None)."""
        if text is None:
            text = read_source(path)
        with self.lock:
            index = self.project()
            if index is None:
                return False
            if text is None:
                index.remove(path)
                return True
            try:
                index.update(path, text)
            except Exception:  # a summary failure must not stop the index
                log.exception("indexing %s failed", path)
                return False
            return True

    def remove(self, path: str) -> None:
        with self.lock:
            index = self.project()
            if index is not None:
                index.remove(path)

    def scan(
        self,
        roots: list[str],
        budget_s: float,
        limit: int = 5000,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> int:
        """Index Python files under ``roots`` until the budget runs out; returns the count."""
        start = time.perf_counter()
        count = 0
        for path in python_files(roots, limit):
            if should_stop() or time.perf_counter() - start > budget_s:
                log.info("index scan stopped after %d files (time budget)", count)
                break
            text = read_source(path)
            if text is not None and self.update(path, text):
                count += 1
        else:
            self.scan_complete = True
        self.scanned_files = count
        self.scan_seconds = time.perf_counter() - start
        return count
