"""``textDocument/codeAction``: quick fixes, "ignore this line" and fix all, built
from a snapshot on the executor (``actions``)."""

from __future__ import annotations

import logging

from lsprotocol import types

from ..actions import (
    FIX_ALL_KIND,
    NOTEBOOK_FIX_ALL_KIND,
    action_request,
    code_actions,
    fixes_off,
)
from ..dispatch import SNAPSHOT, Tools
from ..engine_client import AnalysisTimeout, WorkerDied
from ..session import DocumentSnapshot

log = logging.getLogger("torchmode.lsp")

METHOD = types.TEXT_DOCUMENT_CODE_ACTION
OPTIONS = types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND, NOTEBOOK_FIX_ALL_KIND],
    resolve_provider=True,
)
RUNS = SNAPSHOT
NOT_OPEN = None


def document_uri(params: types.CodeActionParams) -> str:
    return params.text_document.uri


def handle(
    snap: DocumentSnapshot, params: types.CodeActionParams, tools: Tools
) -> list[types.CodeAction] | None:
    if fixes_off(snap, tools):
        return None
    tools.hold_verification(snap.key)
    req = action_request(snap, tools, params.context.diagnostics, params.context.only)
    try:
        return code_actions(req) or None
    except (AnalysisTimeout, WorkerDied) as exc:  # no fixes this time; nothing broke
        log.warning("code actions for %s: %s", snap.uri, exc)
        return None
