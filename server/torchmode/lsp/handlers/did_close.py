"""``textDocument/didClose``: forget the document and clear its diagnostics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..publish import clear

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.TEXT_DOCUMENT_DID_CLOSE


def handle(ls: TorchmodeServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.session.forget(uri)
    clear(ls, [uri])
