"""TM008 functional-mode-ignored: ``F.dropout(x, p)`` in a module keeps its own
``training`` default and ignores ``model.eval()`` / ``model.train()``."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.api import Effect, Facts, IgnoredMode, Need
from ..findings import Finding, FixKind, FixSpec, Severity
from .base import FixApplicability, Rule, finding

_CONSEQUENCE = {
    Effect.ON_IN_EVAL: "so it stays active after model.eval() and evaluation outputs are random",
    Effect.OFF_IN_TRAIN: "so it is never active, not even in training",
    Effect.RUNNING_STATS: ("so it normalises with the running statistics in training too and "
                           "never updates them"),
}


class FunctionalModeIgnored(Rule):
    code = "TM008"
    name = "functional-mode-ignored"
    severity = Severity.WARNING
    fix_applicability = FixApplicability.UNSAFE
    summary = ('A functional dropout/rrelu/batch_norm call that omits training= '
               "ignores the module's mode.")
    needs = frozenset({Need.FUNCTIONAL_CALLS})
    VALID = (
        """\
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 256)

    def forward(self, x):
        return F.dropout(self.hidden(x), 0.5, training=self.training)
""",
    )
    INVALID = (
        """\
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 256)

    def forward(self, x):
        return F.dropout(self.hidden(x), 0.5)  # TM008
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        for found in facts.ignored_mode_calls():
            yield finding(self, _message(found), facts.range(found.call.func), (_fix(found),),
                          subject=found.class_name)


def _message(found: IgnoredMode) -> str:
    function = found.function
    default = "True" if function.default else "False"
    return (f"{found.spelled}() in {found.class_name} does not follow the module's mode: "
            f"training defaults to {default}, {_CONSEQUENCE[function.effect]}. "
            f"Pass training={found.self_name}.training.")


def _fix(found: IgnoredMode) -> FixSpec:
    call = found.call
    code = f"training={found.self_name}.training"
    end = (call.end_lineno or call.lineno) - 1
    return FixSpec(kind=FixKind.ADD_TRAINING_ARG, title=f"Pass {code} to {found.spelled}()",
                   safe=False, target_line=call.lineno - 1, target_end_line=end, code=code,
                   entity=found.spelled, import_line=None, preferred=True)
