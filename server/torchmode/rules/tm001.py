"""TM001 missing-eval: a forward call in an evaluation region while the model may be training."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.api import Facts, ForwardCall, ModeKind, Need
from ..findings import Finding, FixKind, Severity
from .base import FixApplicability, Rule, describe_origin, finding, insert_fix


class MissingEval(Rule):
    code = "TM001"
    name = "missing-eval"
    severity = Severity.WARNING
    fix_applicability = FixApplicability.UNSAFE
    summary = "Forward pass in an evaluation region while the model may be in training mode."
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
with torch.no_grad():
    for x, y in val_loader:
        preds = model(x)  # TM001
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        seen: set[tuple[str, int]] = set()
        for ev in facts.forward_calls:
            mode = ev.origin
            if mode is None or any(m.kind is ModeKind.DYNAMIC or m.flagged for m in ev.modes):
                continue
            region = ev.region
            if region is None:
                continue
            if region.training_context and (ev.trained or all(
                    m.method_call for m in ev.modes if m.kind is ModeKind.TRAIN)):
                continue  # the trained model, or a model put in training mode on purpose
            if region.kind == "nograd" and _deliberate_train(facts, ev, region.node):
                continue
            region_id = id(region.node) if region.node is not None else id(ev.function.node)
            if (ev.canonical, region_id) in seen:
                continue
            seen.add((ev.canonical, region_id))
            anchor = facts.anchor(ev, region)
            where = {"the loop": "this loop", "the with block": "this block"}.get(
                anchor.label, f"this call in {anchor.label}" if anchor.at_start else "this call")
            key = ev.entity
            state = "may still be in training mode" if mode.kind is ModeKind.TRAIN else \
                "may be in training mode"
            message = (f"{key} {state} here ({describe_origin(mode)}; no {key}.eval() before "
                       f"{where}).")
            severity = None
            info = facts.layers_of(ev.class_name)
            if info is not None and info.dependent is False:
                severity = Severity.HINT
                message += (f" {info.class_name} has no mode-dependent layers (no Dropout or "
                            "BatchNorm), so eval() changes nothing today.")
            else:
                message += " Dropout and BatchNorm behave differently in training mode."
                if info is not None and info.counts:
                    message += f" ({info.class_name}: {info.summary()})"
            fix = insert_fix(facts, FixKind.INSERT_EVAL, key, anchor, "eval", "")
            yield finding(self, message, facts.range(ev.node), (fix,), severity=severity,
                          subject=key)


def _deliberate_train(facts: Facts, ev: ForwardCall, block: ast.AST | None) -> bool:
    """``model.train()`` immediately followed by a no_grad block whose loop is not an
    evaluation loop, in the same function: BatchNorm recalibration (AdaBN), on purpose."""
    if block is None or ev.function.evaluation_named or any(
            facts.is_evaluation_loop(s) for s in ev.statements):
        return False
    trains = [m for m in ev.modes if m.kind is ModeKind.TRAIN]
    if len(trains) != 1 or any(m.kind is ModeKind.LOADED for m in ev.modes):
        return False
    mode = trains[0]
    switch = mode.switch
    if switch is None or switch.function is not ev.function or not mode.method_call:
        return False
    stmts = [s for s in switch.statements if isinstance(s, ast.stmt)]
    if not stmts:
        return False
    train_stmt = stmts[-1]
    end = (train_stmt.end_lineno or train_stmt.lineno)
    start = block.lineno - 1  # type: ignore[attr-defined]
    if start < end or getattr(block, "col_offset", -1) != train_stmt.col_offset:
        return False
    between = [facts.line_text(i).strip() for i in range(end, start)]
    return all(not text or text.startswith("#") for text in between)
