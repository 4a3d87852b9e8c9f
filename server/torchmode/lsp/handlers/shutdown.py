"""``shutdown``: stop background work and the engine (pygls answers and tracks state)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.SHUTDOWN


def handle(ls: TorchmodeServer, params: None) -> None:
    ls.stop()
