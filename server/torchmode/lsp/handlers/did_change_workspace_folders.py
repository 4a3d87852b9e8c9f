"""``workspace/didChangeWorkspaceFolders``: index the new folders, fetch the settings
of each folder again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from .. import configuration
from ..background import index_folders
from ..session import path_of

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS


async def handle(ls: TorchmodeServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    added = [path_of(f.uri) for f in params.event.added]
    if added:
        ls.submit(index_folders, ls, added)
    await configuration.fetch(ls)
