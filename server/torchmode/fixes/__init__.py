"""Quick fixes: from the ``FixSpec`` decided at analysis time to verified text edits.

``edits_for_fix`` builds the edits (libcst on the target statement only);
``offered_fixes`` and ``fix_all`` apply them and keep only fixes whose result
parses, no longer has the finding, and has no new one; ``noqa_edit`` is the
"ignore this line" action.
"""

from .build import edits_for_fix
from .suppress import noqa_edit
from .textedit import TextEdit, apply_edits
from .verify import FixAllResult, fix_all, offered_fixes

__all__ = ["FixAllResult", "TextEdit", "apply_edits", "edits_for_fix", "fix_all", "noqa_edit",
           "offered_fixes"]
