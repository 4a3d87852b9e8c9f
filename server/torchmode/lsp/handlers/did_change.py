"""``textDocument/didChange``: the document (or its notebook) is analysed after the
debounce; pygls has already applied the change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.TEXT_DOCUMENT_DID_CHANGE


def handle(ls: TorchmodeServer, params: types.DidChangeTextDocumentParams) -> None:
    key = ls.session.key_of(params.text_document.uri)
    if key in ls.session.tracked:
        ls.schedule(key)
