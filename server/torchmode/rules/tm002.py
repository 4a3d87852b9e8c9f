"""TM002 missing-no-grad: evaluation forward passes that build an autograd graph."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.api import EvalRegion, Facts, GradState, Need
from ..findings import Finding, Severity
from .base import FixApplicability, Rule, finding, wrap_fixes


class MissingNoGrad(Rule):
    code = "TM002"
    name = "missing-no-grad"
    severity = Severity.WARNING
    fix_applicability = FixApplicability.UNSAFE
    summary = "Forward pass for results with autograd still recording a graph."
    needs = frozenset({Need.FORWARD_CALLS})
    VALID = (
        """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 2), nn.Dropout(0.5))
model.eval()
with torch.no_grad():
    for x, y in val_loader:
        preds = model(x)
""",
    )
    INVALID = (
        """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 2), nn.Dropout(0.5))
model.eval()
for x, y in val_loader:  # TM002
    preds = model(x)
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        seen: set[int] = set()
        for ev in facts.forward_calls:
            if GradState.OFF in ev.grad or GradState.DYNAMIC in ev.grad or \
                    ev.function.gradient_use or facts.forward_disables_grad(ev):
                continue
            region = ev.region
            why: str
            if region is not None and region.kind != "nograd":
                why = {"loop": "an evaluation loop", "function": f"{ev.function.name}() evaluates",
                       "script": "an inference script",
                       "periodic": "a periodic evaluation inside the training loop"}[region.kind]
            else:
                mode = facts.after_eval(ev)
                if mode is None:
                    continue
                region = EvalRegion("after-eval", None)
                why = (f"after {mode.how} at line {(mode.line or 0) + 1} with no training step "
                       "after it")
            anchor = facts.wrap_anchor(ev, region)
            if isinstance(anchor.stmt, (ast.For, ast.AsyncFor, ast.While)):
                key_node: ast.AST = anchor.stmt
                rng = facts.header_range(anchor.stmt)
            else:
                key_node = anchor.stmt
                rng = facts.range(ev.node)
            if id(key_node) in seen:
                continue
            seen.add(id(key_node))
            no_grad, _ = facts.spelling("no_grad")
            message = (f"{ev.entity} runs here with autograd on ({why}): no {no_grad} around it, "
                       "so every forward pass records a graph it never uses.")
            yield finding(self, message, rng, wrap_fixes(facts, anchor), subject=ev.entity)
