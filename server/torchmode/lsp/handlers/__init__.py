"""One module per LSP method; ``dispatch`` registers them (see its docstring for the
shape of a handler module). A new feature is a module here and a line below."""

from __future__ import annotations

from types import ModuleType

from . import (
    code_action,
    code_action_resolve,
    diagnostic,
    did_change,
    did_change_configuration,
    did_change_watched_files,
    did_change_workspace_folders,
    did_close,
    did_open,
    did_save,
    execute_command,
    exit,
    hover,
    initialize,
    initialized,
    inlay_hint,
    notebook_did_change,
    notebook_did_close,
    notebook_did_open,
    notebook_did_save,
    shutdown,
)

HANDLERS: tuple[ModuleType, ...] = (
    initialize,
    initialized,
    shutdown,
    exit,
    did_open,
    did_change,
    did_save,
    did_close,
    notebook_did_open,
    notebook_did_change,
    notebook_did_save,
    notebook_did_close,
    diagnostic,
    did_change_configuration,
    did_change_workspace_folders,
    did_change_watched_files,
    code_action,
    code_action_resolve,
    execute_command,
    hover,
    inlay_hint,
)
