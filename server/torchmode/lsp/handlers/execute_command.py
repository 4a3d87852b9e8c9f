"""``workspace/executeCommand`` ``torchmode.fixAll [uri | {uri, unsafe}]``: every fix
of a document applied with ``workspace/applyEdit``. Invoked explicitly, so unsafe
fixes are included unless ``unsafe`` is false."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..actions import FIX_ALL_COMMAND, FIX_ALL_TITLE, fix_all_edit, fixes_off
from ..dispatch import BadParams
from ..session import DocumentSnapshot

if TYPE_CHECKING:
    from ..server import TorchmodeServer

COMMAND = FIX_ALL_COMMAND


async def handle(ls: TorchmodeServer, *args: Any) -> dict[str, Any]:
    uri, unsafe = parse_fix_all_args(args)
    snap = ls.session.snapshot(uri, ls.report_problems)
    if snap is None:
        raise BadParams(f"document not open: {uri}")
    if fixes_off(snap, ls.tools()):
        return {"applied": False, "fixed": 0, "remaining": 0}
    edit, outcome = await ls.in_background(fix_all, ls, snap, unsafe)
    applied = False
    if edit is not None:
        response = await ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label=FIX_ALL_TITLE)
        )
        applied = bool(response.applied)
    return {"applied": applied, "fixed": len(outcome.fixed), "remaining": len(outcome.remaining)}


def fix_all(ls: TorchmodeServer, snap: DocumentSnapshot, unsafe: bool) -> tuple[Any, Any]:
    """The edit and the outcome of fix-all (executor)."""
    return fix_all_edit(
        snap.document,
        snap.engine_settings,
        unsafe=unsafe,
        encoding=snap.client.encoding,
        document_changes=snap.client.document_changes,
        engine=ls.engine,
    )


def parse_fix_all_args(args: tuple[Any, ...]) -> tuple[str, bool]:
    """Arguments of ``torchmode.fixAll``: a URI, or ``{"uri": ..., "unsafe": bool}``."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    if not args:
        raise BadParams("torchmode.fixAll needs a document URI")
    first = args[0]
    if isinstance(first, dict):
        uri = first.get("uri")
        unsafe = first.get("unsafe", True)
    else:
        uri, unsafe = first, (args[1] if len(args) > 1 else True)
    if not isinstance(uri, str) or not isinstance(unsafe, bool):
        raise BadParams("torchmode.fixAll arguments: a URI string, or {uri: str, unsafe: bool}")
    return uri, unsafe
