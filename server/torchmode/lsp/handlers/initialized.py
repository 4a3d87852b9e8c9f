"""``initialized``: watch files, fetch the settings, start indexing the workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from .. import configuration
from ..background import register_watchers, start_index_scan

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.INITIALIZED


async def handle(ls: TorchmodeServer, params: types.InitializedParams) -> None:
    await register_watchers(ls)
    await configuration.fetch(ls)
    start_index_scan(ls)
