"""TM008 functional-mode-ignored: ``F.dropout(x, p)`` in a module keeps its own
``training`` default and ignores ``model.eval()`` / ``model.train()``."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.api import Effect, Facts, IgnoredMode
from ..findings import Finding, FixKind, FixSpec, Severity
from .base import Rule, finding

RULE = Rule("TM008", "functional-mode-ignored", Severity.WARNING, "unsafe",
            "A functional dropout/rrelu/batch_norm call that omits training= ignores the "
            "module's mode.")

_CONSEQUENCE = {
    Effect.ON_IN_EVAL: "so it stays active after model.eval() and evaluation outputs are random",
    Effect.OFF_IN_TRAIN: "so it is never active, not even in training",
    Effect.RUNNING_STATS: ("so it normalises with the running statistics in training too and "
                           "never updates them"),
}


def check(fa: Facts) -> Iterator[Finding]:
    for found in fa.ignored_mode_calls():
        yield finding(RULE, _message(found), fa.range(found.call.func), (_fix(found),))


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
    return FixSpec(FixKind.ADD_TRAINING_ARG, f"Pass {code} to {found.spelled}()", False,
                   call.lineno - 1, end, code, found.spelled, None, True)
