"""TM007 export-in-train-mode: tracing/exporting a model that may be in training mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.context import FileAnalysis
from ..analysis.model import DYNAMIC, LOADED, TRAIN
from ..findings import Finding, FixKind, FixSpec, Severity
from .base import Rule, call_name, describe_origin, finding, worst_mode

RULE = Rule("TM007", "export-in-train-mode", Severity.WARNING, "unsafe",
            "torch.jit.trace / torch.export of a model that may be in training mode.")


def check(fa: FileAnalysis) -> Iterator[Finding]:
    for ev in fa.interp.exports.values():
        kinds = {m.kind for m in ev.modes}
        if DYNAMIC in kinds or any(m.flagged for m in ev.modes):
            continue
        mode = worst_mode(ev.modes, (TRAIN, LOADED))
        if mode is None:
            continue
        if all(m.guard is not None for m in ev.modes if m.kind == TRAIN) and \
                not any(m.kind == LOADED for m in ev.modes):
            continue  # train() chosen under a condition (export in training mode on purpose)
        fn = call_name(ev.node)
        message = (f"{ev.key} may be in training mode when {fn}() records it "
                   f"({describe_origin(mode)}; no {ev.key}.eval() before): the exported graph "
                   "keeps training-mode Dropout and BatchNorm.")
        stmts = [s for s in ev.stmts if isinstance(s, ast.stmt)]
        fixes: tuple[FixSpec, ...] = ()
        if stmts:
            first, end = fa.stmt_lines(stmts[-1])
            code = f"{ev.key}.eval()"
            fixes = (FixSpec(FixKind.INSERT_EVAL, f"Insert {code} before the export", False,
                             first, end, code, ev.key, None, True),)
        yield finding(RULE, message, fa.range(ev.node), fixes, subject=ev.key)
