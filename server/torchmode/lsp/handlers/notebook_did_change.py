"""``notebookDocument/didChange``: removed cells lose their diagnostics; the notebook
is analysed after the debounce."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..publish import clear

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.NOTEBOOK_DOCUMENT_DID_CHANGE


def handle(ls: TorchmodeServer, params: types.DidChangeNotebookDocumentParams) -> None:
    structure = params.change.cells.structure if params.change.cells else None
    if structure and structure.did_close:
        clear(ls, [c.uri for c in structure.did_close])
    if params.notebook_document.uri in ls.session.tracked:
        ls.schedule(params.notebook_document.uri)
