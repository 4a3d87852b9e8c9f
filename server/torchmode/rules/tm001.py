"""TM001 missing-eval: a forward call in an evaluation region while the model may be training."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.context import FileAnalysis
from ..analysis.model import DYNAMIC, LOADED, TRAIN
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
        if region.training_context and ev.trained:
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
        yield finding(RULE, message, fa.range(ev.node), (fix,), severity=severity)
