"""``notebookDocument/didSave``: a notebook over the time budget is tried again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from .did_save import retry

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.NOTEBOOK_DOCUMENT_DID_SAVE


def handle(ls: TorchmodeServer, params: types.DidSaveNotebookDocumentParams) -> None:
    retry(ls, params.notebook_document.uri)
