"""Applying editor settings to the session, per workspace folder.

The base is ``initializationOptions``; a ``workspace/configuration`` answer (one for
the whole workspace, one per folder) or a ``didChangeConfiguration`` payload goes on
top of it. Every setting is resolved per folder: a document follows the settings of
the folder holding it, the global ones outside any folder.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from .session import SettingsState, path_of
from .settings import merge, parse_settings

if TYPE_CHECKING:
    from .server import TorchmodeServer

log = logging.getLogger("torchmode.lsp")


def set_initial(ls: TorchmodeServer, raw: Any) -> None:
    """``initializationOptions``: the base of every later answer (nothing is open yet,
    and the client may not be asked anything before ``initialized``)."""
    state = SettingsState(initial=raw, global_settings=parse_settings(raw))
    ls.session.settings = state
    if state.global_settings.problems:
        ls.report_problems(state.global_settings.problems)


def set_global(ls: TorchmodeServer, raw: Any) -> None:
    """Settings pushed with ``didChangeConfiguration`` (clients without
    ``workspace/configuration``): on top of ``initializationOptions``."""
    state = ls.session.settings
    apply(ls, replace(state, global_settings=parse_settings(merge(state.initial, raw))))


async def fetch(ls: TorchmodeServer) -> None:
    """Ask the client for section ``torchmode``, globally and for each folder."""
    if not ls.session.client.configuration:
        return
    folders = list(ls.session.workspace.folders.values())
    items = [types.ConfigurationItem(section="torchmode")] + [
        types.ConfigurationItem(section="torchmode", scope_uri=f.uri) for f in folders
    ]
    try:
        values = await ls.workspace_configuration_async(types.ConfigurationParams(items))
    except Exception as exc:
        log.warning("workspace/configuration failed: %r", exc)
        return
    if not values:
        return
    state = ls.session.settings
    base = state.initial
    global_settings = (
        parse_settings(merge(base, values[0])) if values[0] is not None else state.global_settings
    )
    per_folder = {
        path_of(folder.uri): parse_settings(merge(base, value))
        for folder, value in zip(folders, values[1:], strict=False)
        if value is not None
    }
    apply(ls, SettingsState(base, global_settings, per_folder))


def apply(ls: TorchmodeServer, new: SettingsState) -> None:
    """Make ``new`` the session's settings; report invalid values once; analyse again
    (and clear what was turned off) when anything changed."""
    from .publish import clear

    session = ls.session
    old, session.settings = session.settings, new
    for settings in new.every():
        if settings.problems:
            ls.report_problems(settings.problems)
    if old.every() == new.every() and old.folders.keys() == new.folders.keys():
        return
    for key in list(session.tracked):
        if not session.lsp_settings(key).enable:
            snap = session.document(key)
            clear(ls, snap.uris() if snap else [key])
    ls.reanalyse_all()
    if any(s.inlay_hints_enable for s in old.every()) != any(
        s.inlay_hints_enable for s in new.every()
    ) and session.client.inlay_hint_refresh:
        ls.workspace_inlay_hint_refresh(None)
