"""TM007 export-in-train-mode: tracing/exporting a model that may be in training mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.api import Facts, ModeKind, Need
from ..findings import Finding, FixKind, FixSpec, Severity
from .base import FixApplicability, Rule, call_name, describe_origin, finding


class ExportInTrainMode(Rule):
    code = "TM007"
    name = "export-in-train-mode"
    severity = Severity.WARNING
    fix_applicability = FixApplicability.UNSAFE
    summary = "torch.jit.trace / torch.export of a model that may be in training mode."
    needs = frozenset({Need.EXPORTS})
    VALID = (
        """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 2), nn.Dropout(0.5))
model.load_state_dict(torch.load("weights.pt"))
model.eval()
traced = torch.jit.trace(model, torch.randn(1, 8))
""",
    )
    INVALID = (
        """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 2), nn.Dropout(0.5))
model.load_state_dict(torch.load("weights.pt"))
traced = torch.jit.trace(model, torch.randn(1, 8))  # TM007
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        for ev in facts.exports:
            if any(m.kind is ModeKind.DYNAMIC or m.flagged for m in ev.modes):
                continue
            mode = ev.origin
            if mode is None:
                continue
            if all(m.conditional for m in ev.modes if m.kind is ModeKind.TRAIN) and \
                    not any(m.kind is ModeKind.LOADED for m in ev.modes):
                continue  # train() chosen under a condition (export in training mode on purpose)
            fn = call_name(ev.node)
            message = (f"{ev.entity} may be in training mode when {fn}() records it "
                       f"({describe_origin(mode)}; no {ev.entity}.eval() before): the exported "
                       "graph keeps training-mode Dropout and BatchNorm.")
            stmts = [s for s in ev.statements if isinstance(s, ast.stmt)]
            fixes: tuple[FixSpec, ...] = ()
            if stmts:
                first, end = facts.stmt_lines(stmts[-1])
                code = f"{ev.entity}.eval()"
                fixes = (FixSpec(kind=FixKind.INSERT_EVAL,
                                 title=f"Insert {code} before the export", safe=False,
                                 target_line=first, target_end_line=end, code=code,
                                 entity=ev.entity, import_line=None, preferred=True),)
            yield finding(self, message, facts.range(ev.node), fixes, subject=ev.entity)
