"""Quick fixes: from the ``FixSpec`` decided at analysis time to verified text edits.

``edits_for_fix`` builds the edits (libcst on the target statement only);
``completions`` adds the partner edit that keeps a program correct (``model.train()``
after an inserted ``model.eval()``); ``offered_fixes`` and ``fix_all`` apply them and
keep only fixes whose result parses, no longer has the finding, and has no new one
(every rule on, the same cross-file facts); ``noqa_edit`` is the "ignore this line"
action. All of them are plain functions of their arguments: they run in any process.
"""

from .build import edits_for_fix
from .candidates import Fix
from .complete import FileEdits, completions
from .suppress import noqa_edit
from .textedit import TextEdit, apply_edits
from .verify import ChangedFile, FixAllResult, every_rule, fix_all, offered_fixes

__all__ = ["ChangedFile", "FileEdits", "Fix", "FixAllResult", "TextEdit", "apply_edits",
           "completions", "edits_for_fix", "every_rule", "fix_all", "noqa_edit", "offered_fixes"]
