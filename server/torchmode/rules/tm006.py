"""TM006 mode-flag-assignment: ``m.training = ...`` or assigning to ``m.eval``/``m.train``."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.api import Facts, MisuseKind, Need
from ..findings import Finding, FixKind, FixSpec, Severity
from .base import FixApplicability, Rule, finding


class ModeFlagAssignment(Rule):
    code = "TM006"
    name = "mode-flag-assignment"
    severity = Severity.WARNING
    fix_applicability = FixApplicability.UNSAFE
    summary = "Setting the training flag directly skips submodules."
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
model.training = False  # TM006
with torch.no_grad():
    preds = model(batch)
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        for ev in facts.misuses:
            if ev.kind not in (MisuseKind.FLAG_ASSIGNED, MisuseKind.MODE_METHOD_REPLACED):
                continue
            key = ev.entity
            fixes: tuple[FixSpec, ...] = ()
            if ev.kind is MisuseKind.FLAG_ASSIGNED:
                value = ev.value
                literal = value.value if isinstance(value, ast.Constant) else None
                if literal is True or literal is False:
                    code = f"{key}.eval()" if literal is False else f"{key}.train()"
                    shown = "False" if literal is False else "True"
                else:
                    shown = ast.unparse(value) if value is not None else "..."
                    code = f"{key}.train({shown})"
                message = (f"{key}.training = {shown} changes the flag of {key} only; its "
                           f"submodules (Dropout, BatchNorm) keep their mode. Use {code}.")
                first, end = facts.stmt_lines(ev.statement)
                fixes = (FixSpec(kind=FixKind.FLAG_TO_METHOD,
                                 title=f"Replace {key}.training = {shown} with {code}", safe=False,
                                 target_line=first, target_end_line=end, code=code, entity=key,
                                 import_line=None, preferred=True),)
            else:
                attr = ev.node.attr if isinstance(ev.node, ast.Attribute) else "eval"
                message = (f"Assigning to {key}.{attr} replaces the method: {key}.{attr}() no "
                           f"longer switches the mode of {key} and its submodules.")
            yield finding(self, message, facts.range(ev.node), fixes, subject=key)
