"""``notebookDocument/didOpen``: the notebook's code cells are analysed now, as one
program."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.NOTEBOOK_DOCUMENT_DID_OPEN


def handle(ls: TorchmodeServer, params: types.DidOpenNotebookDocumentParams) -> None:
    ls.session.tracked.add(params.notebook_document.uri)
    ls.schedule(params.notebook_document.uri, now=True)
