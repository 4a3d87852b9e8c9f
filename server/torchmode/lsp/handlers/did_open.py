"""``textDocument/didOpen``: a Python document is analysed now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.TEXT_DOCUMENT_DID_OPEN


def handle(ls: TorchmodeServer, params: types.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    if doc.language_id != "python" and not doc.uri.endswith((".py", ".pyi")):
        return  # e.g. pyproject.toml: watched for settings, never analysed
    ls.session.tracked.add(doc.uri)
    ls.schedule(doc.uri, now=True)
