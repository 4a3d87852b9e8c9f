"""Keeping the engine's project facts current: the workspace scan, files changed on
disk, and model classes imported from outside the workspace (jedi).

All of it runs on the executor; when the facts may have changed, the open documents
are analysed again (scheduled on the event loop).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from lsprotocol import types

from .documents import Snapshot
from .index import python_files, read_source
from .session import path_of

if TYPE_CHECKING:
    from .server import TorchmodeServer

log = logging.getLogger("torchmode.lsp")

SCAN_BUDGET_S = 10.0
SCAN_FILE_LIMIT = int(os.environ.get("TORCHMODE_INDEX_FILE_LIMIT", "5000"))
RESOLVE_DELAY_S = 1.0  # quiet time before jedi looks for imported model classes
_ONE_LOOKUP = threading.Lock()  # jedi lookups one at a time (the resolver is not thread-safe)


def start_index_scan(ls: TorchmodeServer) -> None:
    """Warm the engine up and index the workspace folders (event loop)."""
    if ls.stopping.is_set():
        return
    roots = ls.session.roots()

    def scan() -> None:
        try:  # engine and fix engine imports: the first analysis and action don't pay them
            ls.engine.warm()
        except Exception as exc:
            log.error("the engine could not start: %r", exc)
        if roots:
            log.info("indexed %d files", scan_files(ls, roots))
        ls.index_ready.set()
        ls.from_thread(ls.reanalyse_all)

    ls.submit(scan)


def scan_files(ls: TorchmodeServer, roots: list[str], budget_s: float = SCAN_BUDGET_S) -> int:
    """Index the Python files under ``roots`` one by one (analyses interleave), within
    a time budget and a file cap; stopping early is logged and shown. Files are read
    here; the engine only summarises them."""
    start = time.perf_counter()
    count = seen = 0
    for path in python_files(roots, SCAN_FILE_LIMIT + 1):
        if ls.stopping.is_set():
            break
        seen += 1
        if seen > SCAN_FILE_LIMIT:
            ls.notify(
                f"torchmode: the workspace has more than {SCAN_FILE_LIMIT} Python files; "
                f"only the first {SCAN_FILE_LIMIT} are indexed, so facts from the others "
                "(model classes, helper functions) are unknown",
                types.MessageType.Info,
            )
            break
        if time.perf_counter() - start > budget_s:
            ls.notify(
                f"torchmode: indexing stopped after {budget_s:g} s at {count} files; facts "
                "from the other files (model classes, helper functions) are unknown",
                types.MessageType.Info,
            )
            break
        text = read_source(path)
        if text is not None and ls.engine.update(path, text):
            count += 1
    return count


def index_folders(ls: TorchmodeServer, roots: list[str]) -> None:
    """New workspace folders: index them (executor)."""
    if scan_files(ls, roots):
        ls.from_thread(ls.reanalyse_all)


def reindex(ls: TorchmodeServer, path: str, text: str) -> None:
    """A saved document: its summary for the other files (executor)."""
    if ls.engine.update(path, text):
        refresh_affected(ls)


def reindex_files(ls: TorchmodeServer, changes: list[tuple[str, bool]]) -> None:
    """Files changed or deleted on disk, ``(path, deleted)`` (executor)."""
    for path, deleted in changes:
        if deleted:
            ls.engine.remove(path)
        else:
            ls.engine.update(path, read_source(path))
    refresh_affected(ls)


def refresh_affected(ls: TorchmodeServer) -> None:
    """After an index change (executor): analyse again only the open documents whose
    last analysis read cross-file facts that changed; all of them when that cannot be
    told (the worker died meanwhile)."""
    keys: list[str] = ls.read_on_loop(lambda: list(ls.session.tracked))
    by_path = {path_of(key): key for key in keys}
    try:
        affected = ls.engine.affected(list(by_path))
    except Exception:
        log.exception("finding the affected documents failed; analysing all of them")
        ls.from_thread(ls.reanalyse_all)
        return
    ls.from_thread(ls.reanalyse, [by_path[path] for path in affected])


def settings_files_changed(ls: TorchmodeServer) -> None:
    """A pyproject.toml changed: read configuration again, analyse again (event loop)."""
    from .. import config

    config.clear_cache()
    ls.reanalyse_all()


def resolve_imports(ls: TorchmodeServer, snap: Snapshot) -> None:
    """Let jedi find files of imported model classes the index lacks: in the
    background, once the document has been quiet for a while (jedi holds the GIL
    for long stretches and must not slow down typing)."""
    if ls.stopping.is_set() or not ls.index_ready.is_set() or ls.loop is None:
        return  # the workspace scan has not run yet; it may find them itself
    timers = ls.session.resolve_timers
    timer = timers.pop(snap.key, None)
    if timer is not None:
        timer.cancel()
    roots = ls.session.roots()

    def job() -> None:
        with _ONE_LOOKUP:
            found = ls.resolver.resolve(snap.key, snap.text, snap.path, roots)
        if found:
            ls.from_thread(ls.reanalyse_all)

    def start() -> None:
        timers.pop(snap.key, None)
        if ls.session.version_of(snap.key) == snap.version:
            ls.submit(job)

    timers[snap.key] = ls.loop.call_later(RESOLVE_DELAY_S, start)


async def register_watchers(ls: TorchmodeServer) -> None:
    """Ask the client to report changes of Python files and pyproject.toml."""
    if not ls.session.client.watch_files:
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[
            types.FileSystemWatcher(glob_pattern="**/*.py"),
            types.FileSystemWatcher(glob_pattern="**/pyproject.toml"),
        ]
    )
    registration = types.Registration(
        id="torchmode-watched-files",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=options,
    )
    try:
        await ls.client_register_capability_async(
            types.RegistrationParams(registrations=[registration])
        )
    except Exception as exc:
        log.info("file watcher registration refused: %r", exc)
