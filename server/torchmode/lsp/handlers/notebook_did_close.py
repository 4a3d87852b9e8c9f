"""``notebookDocument/didClose``: forget the notebook, clear its cells' diagnostics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..publish import clear

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.NOTEBOOK_DOCUMENT_DID_CLOSE


def handle(ls: TorchmodeServer, params: types.DidCloseNotebookDocumentParams) -> None:
    ls.session.forget(params.notebook_document.uri)
    clear(ls, [c.uri for c in params.cell_text_documents])
