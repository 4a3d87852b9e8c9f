"""TM005 backward-without-grad: ``backward()`` where gradients are disabled."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.api import Facts, GradState, Need
from ..findings import Finding, Severity
from .base import FixApplicability, Rule, finding


class BackwardWithoutGrad(Rule):
    code = "TM005"
    name = "backward-without-grad"
    severity = Severity.ERROR
    fix_applicability = FixApplicability.NONE
    summary = "backward() inside a no_grad / inference_mode region."
    needs = frozenset({Need.BACKWARD_CALLS})
    VALID = (
        """\
import torch
import torch.nn as nn

model = nn.Linear(8, 2)
with torch.no_grad():
    with torch.enable_grad():
        loss = model(x).sum()
        loss.backward()
""",
    )
    INVALID = (
        """\
import torch
import torch.nn as nn

model = nn.Linear(8, 2)
with torch.no_grad():
    loss = model(x).sum()
    loss.backward()  # TM005
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        for ev in facts.backward_calls:
            if ev.grad != {GradState.OFF}:
                continue
            message = ("backward() runs with gradients disabled (inside torch.no_grad(), "
                       "inference_mode() or set_grad_enabled(False)): the loss has no graph, so it "
                       "raises at run time. Move it out of the block or wrap it in "
                       "torch.enable_grad().")
            yield finding(self, message, facts.range(ev.node), subject=ev.entity)
