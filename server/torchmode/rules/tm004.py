"""TM004 mode-not-called: ``m.eval`` / ``with torch.no_grad:`` without the call."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.api import Facts, MisuseKind, Need
from ..findings import Finding, FixKind, FixSpec, Severity
from .base import FixApplicability, Rule, finding

_REPORTED = (MisuseKind.MODE_NOT_CALLED, MisuseKind.CONTEXT_NOT_CALLED)


class ModeNotCalled(Rule):
    code = "TM004"
    name = "mode-not-called"
    severity = Severity.ERROR
    fix_applicability = FixApplicability.SAFE
    summary = "A mode method or grad context used without calling it."
    needs = frozenset({Need.MISUSES})
    VALID = (
        """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 2), nn.Dropout(0.5))
model.eval()
with torch.no_grad():
    preds = model(batch)
""",
    )
    INVALID = (
        """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 2), nn.Dropout(0.5))
model.eval  # TM004
with torch.no_grad:  # TM004
    preds = model(batch)
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        for ev in facts.misuses:
            if ev.kind not in _REPORTED:
                continue
            model = ev.kind is MisuseKind.MODE_NOT_CALLED
            text = f"{ev.entity}.{ev.name}" if model else ev.entity
            if model:
                message = (f"{text} is not called: the statement does nothing and "
                           f"{ev.entity} keeps its mode. Write {text}().")
            else:
                message = (f"with {text}: uses the class, not a context manager instance, and "
                           f"raises at run time. Write with {text}():.")
            first, end = facts.stmt_lines(ev.node)
            subject = ev.entity if model else None
            fix = FixSpec(kind=FixKind.ADD_CALL_PARENS, title=f"Add () to call {text}", safe=True,
                          target_line=first, target_end_line=end, code=f"{text}()", entity=subject,
                          import_line=None, preferred=True)
            yield finding(self, message, facts.range(ev.node), (fix,), subject=subject)
