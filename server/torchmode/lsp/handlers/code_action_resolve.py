"""``codeAction/resolve``: the edit of a fix-all action listed without one."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from ..actions import action_request, fixes_off, resolve
from ..dispatch import SNAPSHOT, Tools
from ..session import DocumentSnapshot

METHOD = types.CODE_ACTION_RESOLVE
RUNS = SNAPSHOT


def document_uri(action: types.CodeAction) -> str | None:
    data: Any = action.data
    if not isinstance(data, dict) or "uri" not in data or action.edit is not None:
        return None
    return str(data["uri"])


def not_open(action: types.CodeAction) -> types.CodeAction:
    """Nothing to resolve (or the document closed): the action as it came."""
    return action


def handle(snap: DocumentSnapshot, action: types.CodeAction, tools: Tools) -> types.CodeAction:
    if fixes_off(snap, tools):
        return action
    return resolve(action, action_request(snap, tools))
