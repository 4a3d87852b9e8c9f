"""Quick fixes: from the ``FixSpec`` decided at analysis time to verified text edits.

``edits_for_fix`` builds the edits (libcst on the target statement only);
``completions`` adds the partner edit that keeps a program correct (``model.train()``
after an inserted ``model.eval()``); ``offered_fixes`` and ``fix_all`` apply them and
keep only fixes whose result parses, no longer has the finding, and has no new one
(every rule on, the same cross-file facts); ``noqa_edit`` is the "ignore this line"
action. All of them are plain functions of their arguments: they run in any process.

The names are imported from their modules on first use: the language server makes
"ignore this line" edits itself (``suppress``, no libcst) and leaves the rest to the
analysis worker, so importing this package must not load libcst (about 8 MB).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .build import edits_for_fix
    from .candidates import Fix
    from .complete import FileEdits, completions
    from .suppress import noqa_edit
    from .textedit import TextEdit, apply_edits
    from .verify import ChangedFile, FixAllResult, every_rule, fix_all, offered_fixes

# exported name -> the module of this package defining it
_EXPORTS = {
    "edits_for_fix": "build", "Fix": "candidates", "FileEdits": "complete",
    "completions": "complete", "noqa_edit": "suppress", "TextEdit": "textedit",
    "apply_edits": "textedit", "ChangedFile": "verify", "FixAllResult": "verify",
    "every_rule": "verify", "fix_all": "verify", "offered_fixes": "verify",
}

__all__ = ["ChangedFile", "FileEdits", "Fix", "FixAllResult", "TextEdit", "apply_edits",
           "completions", "edits_for_fix", "every_rule", "fix_all", "noqa_edit", "offered_fixes"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
