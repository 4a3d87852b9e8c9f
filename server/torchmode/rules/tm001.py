"""TM001 missing-eval: a forward call in an evaluation region while the model may be training."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.context import FileAnalysis
from ..analysis.model import DYNAMIC, LOADED, TRAIN, ForwardEvent
from ..findings import Finding, FixKind, Severity
from .base import Rule, describe_origin, finding, insert_fix, worst_mode

RULE = Rule("TM001", "missing-eval", Severity.WARNING, "unsafe",
            "Forward pass in an evaluation region while the model may be in training mode.")


def check(fa: FileAnalysis) -> Iterator[Finding]:
    seen: set[tuple[str, int]] = set()
    events = sorted(fa.interp.forwards.values(), key=lambda e: (e.node.lineno, e.node.col_offset))
    for ev in events:
        kinds = {m.kind for m in ev.modes}
        if DYNAMIC in kinds or any(m.flagged for m in ev.modes):
            continue
        if TRAIN not in kinds and LOADED not in kinds:
            continue
        region = fa.eval_region(ev)
        if region is None:
            continue
        if region.training_context and (ev.trained or all(
                m.how.endswith(".train()") for m in ev.modes if m.kind == TRAIN)):
            continue  # the trained model, or a model put in training mode on purpose
        if region.kind == "nograd" and _deliberate_train(fa, ev, region.node):
            continue
        region_id = id(region.node) if region.node is not None else id(ev.func.node)
        if (ev.canonical, region_id) in seen:
            continue
        seen.add((ev.canonical, region_id))
        mode = worst_mode(ev.modes)
        assert mode is not None
        anchor = fa.anchor(ev, region)
        where = {"the loop": "this loop", "the with block": "this block"}.get(
            anchor.label, f"this call in {anchor.label}" if anchor.at_start else "this call")
        key = ev.key
        state = "may still be in training mode" if mode.kind == TRAIN else \
            "may be in training mode"
        message = (f"{key} {state} here ({describe_origin(mode)}; no {key}.eval() before "
                   f"{where}).")
        severity = None
        info = fa.layers_of(ev.class_name)
        if info is not None and info.dependent is False:
            severity = Severity.HINT
            message += (f" {info.class_name} has no mode-dependent layers (no Dropout or "
                        "BatchNorm), so eval() changes nothing today.")
        else:
            message += " Dropout and BatchNorm behave differently in training mode."
            if info is not None and info.counts:
                message += f" ({info.class_name}: {info.summary()})"
        fix = insert_fix(fa, FixKind.INSERT_EVAL, key, anchor, "eval", "")
        yield finding(RULE, message, fa.range(ev.node), (fix,), severity=severity, subject=key)


def _deliberate_train(fa: FileAnalysis, ev: ForwardEvent, block: ast.AST | None) -> bool:
    """``model.train()`` immediately followed by a no_grad block whose loop is not an
    evaluation loop, in the same function: BatchNorm recalibration (AdaBN), on purpose."""
    if block is None or ev.func.eval_named or any(
            id(s) in fa.interp.eval_loops for s in ev.stmts):
        return False
    trains = [m for m in ev.modes if m.kind == TRAIN]
    if len(trains) != 1 or any(m.kind == LOADED for m in ev.modes):
        return False
    mode = trains[0]
    info = fa.interp.mode_sets.get(id(mode.node)) if mode.node is not None else None
    if info is None or info[2] is not ev.func or not mode.how.endswith(".train()"):
        return False
    stmts = [s for s in info[3] if isinstance(s, ast.stmt)]
    if not stmts:
        return False
    train_stmt = stmts[-1]
    end = (train_stmt.end_lineno or train_stmt.lineno)
    start = block.lineno - 1  # type: ignore[attr-defined]
    if start < end or getattr(block, "col_offset", -1) != train_stmt.col_offset:
        return False
    between = [fa.src.line_text(i).strip() for i in range(end, start)]
    return all(not text or text.startswith("#") for text in between)
