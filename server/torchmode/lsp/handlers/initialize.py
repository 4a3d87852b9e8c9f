"""``initialize``: what the client can do, and the settings it starts with."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types

from .. import configuration
from ..session import ClientFacts

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.INITIALIZE


def handle(ls: TorchmodeServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    encoding = ls.workspace.position_encoding or "utf-16"
    ls.session.client = ClientFacts.from_initialize(
        params.capabilities, str(getattr(encoding, "value", encoding))
    )
    if params.initialization_options is not None:
        configuration.set_initial(ls, params.initialization_options)
