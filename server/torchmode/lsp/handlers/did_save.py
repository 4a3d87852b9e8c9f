"""``textDocument/didSave``: the saved text goes into the project facts, a document
over the time budget is tried again, a saved pyproject.toml is read again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..background import reindex, settings_files_changed
from ..session import path_of

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.TEXT_DOCUMENT_DID_SAVE


def handle(ls: TorchmodeServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    path = path_of(uri)
    if path.endswith("pyproject.toml"):
        settings_files_changed(ls)
        return
    doc = ls.session.open_text(uri)
    if doc is not None and path.endswith((".py", ".pyi")):
        ls.submit(reindex, ls, path, doc.source)
    key = ls.session.key_of(uri)
    retry(ls, key)


def retry(ls: TorchmodeServer, key: str) -> None:
    """Saved: a quarantined document is analysed again (and may be told about again)."""
    if ls.scheduler.lift(key):
        ls.session.told.discard((key, "too slow"))
    if key in ls.session.tracked:
        ls.schedule(key, now=True)
