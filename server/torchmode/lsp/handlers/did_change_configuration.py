"""``workspace/didChangeConfiguration``: fetch the settings again (or take the pushed
ones from a client that cannot be asked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from .. import configuration

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.WORKSPACE_DID_CHANGE_CONFIGURATION


async def handle(ls: TorchmodeServer, params: types.DidChangeConfigurationParams) -> None:
    if ls.session.client.configuration:
        await configuration.fetch(ls)
    elif params.settings is not None:
        configuration.set_global(ls, params.settings)
