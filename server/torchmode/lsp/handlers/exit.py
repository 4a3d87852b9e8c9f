"""``exit``: the engine's worker goes with the server (pygls ends the process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.EXIT


def handle(ls: TorchmodeServer, params: None) -> None:
    ls.stopping.set()
    ls.engine.close()
