"""``workspace/didChangeWatchedFiles``: Python files changed on disk update the project
facts; a changed pyproject.toml is read again. Events outside the workspace are
ignored (a watcher must not make the server read arbitrary files)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from ..background import reindex_files, settings_files_changed
from ..session import inside, path_of

if TYPE_CHECKING:
    from ..server import TorchmodeServer

log = logging.getLogger("torchmode.lsp")
METHOD = types.WORKSPACE_DID_CHANGE_WATCHED_FILES


def handle(ls: TorchmodeServer, params: types.DidChangeWatchedFilesParams) -> None:
    changes = []
    roots = ls.session.roots()
    for change in params.changes:
        path = path_of(change.uri)
        if not inside(path, roots):
            log.info("ignoring a watched-file event outside the workspace: %s", path)
            continue
        if path.endswith("pyproject.toml"):
            settings_files_changed(ls)
        elif path.endswith((".py", ".pyi")):
            changes.append((path, change.type == types.FileChangeType.Deleted))
    if changes:
        ls.submit(reindex_files, ls, changes)
