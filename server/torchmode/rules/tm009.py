"""TM009 train-undoes-freeze: ``m.train()`` after a submodule of ``m`` was put in eval
on purpose, with no re-freeze before the training step."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.api import Facts, Need, UndoneFreeze
from ..findings import Finding, FixKind, FixSpec, Related, Severity
from .base import FixApplicability, Rule, finding

_AFTER = ("frozen BatchNorm statistics update again and frozen Dropout is back on.")


class TrainUndoesFreeze(Rule):
    code = "TM009"
    name = "train-undoes-freeze"
    severity = Severity.WARNING
    fix_applicability = FixApplicability.UNSAFE
    summary = "model.train() switches a frozen submodule back to training mode."
    needs = frozenset({Need.FREEZES})
    VALID = (
        """\
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LazyLinear(2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for epoch in range(10):
    model.train()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
    for x, y in train_loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
""",
    )
    INVALID = (
        """\
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LazyLinear(2))
for module in model.modules():
    if isinstance(module, nn.BatchNorm2d):
        module.eval()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for epoch in range(10):
    model.train()  # TM009
    for x, y in train_loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        for undone in facts.undone_freezes():
            if facts.refreezes_in_train(undone.caller_entity or undone.entity,
                                        undone.via or undone.train_call):
                continue
            yield finding(self, _message(undone), facts.range(undone.train_call),
                          _fixes(facts, undone), _related(facts, undone), subject=undone.entity)


def _message(undone: UndoneFreeze) -> str:
    freeze = undone.freeze
    step = undone.step.lineno
    if undone.via is not None:
        held = freeze.held.replace(undone.caller_entity or "", undone.entity, 1)
        return (f"{undone.entity}.train() switches {held} back to training mode: "
                f"{undone.caller_entity} was frozen on line {freeze.line + 1} "
                f"({freeze.headline}) before the call on line {undone.via.lineno}, with no "
                f"freeze again before the training step on line {step}: {_AFTER}")
    where = f"on line {freeze.line + 1}" if freeze.origin is None else \
        f"in {freeze.origin} (line {freeze.line + 1})"
    return (f"{undone.entity}.train() switches {freeze.held} back to training mode, undoing "
            f"the freeze {where} ({freeze.headline}), with no freeze again before the "
            f"training step on line {step}: {_AFTER}")


def _related(facts: Facts, undone: UndoneFreeze) -> tuple[Related, ...]:
    related: tuple[Related, ...] = (
        Related(facts.stmt_range(undone.freeze.stmt), "the freeze undone here", undone.freeze.path),
        Related(facts.range(undone.step), "the training step"))
    if undone.via is not None:
        related += (Related(facts.range(undone.via), "the call with the frozen model"),)
    return related


def _fixes(facts: Facts, undone: UndoneFreeze) -> tuple[FixSpec, ...]:
    stmt = undone.train_stmt
    freeze = undone.freeze
    text = freeze.text if undone.via is None else undone.fix_text
    if freeze.origin is not None and not facts.freeze_usable_here(freeze.text, undone.entity):
        text = None  # (the constructor's statement names something this file lacks)
    if stmt is None or text is None or (freeze.path is None and
                                        not _alone_on_its_lines(facts, freeze.stmt)):
        return ()
    first, end = facts.stmt_lines(stmt)
    headline = text.splitlines()[0].rstrip(":") + (": ..." if "\n" in text else "")
    title = f"Re-apply {headline} after {undone.entity}.train()"
    return (FixSpec(kind=FixKind.REAPPLY_FREEZE, title=title, safe=False, target_line=first,
                    target_end_line=end, code=text, entity=undone.entity, import_line=None,
                    preferred=True),)


def _alone_on_its_lines(facts: Facts, stmt: ast.stmt) -> bool:
    """The freeze statement can be copied as whole lines (no ``a; b`` sharing them)."""
    first, end = facts.stmt_lines(stmt)
    head = facts.line_text(first)[:stmt.col_offset]
    tail = facts.line_text(end)[stmt.end_col_offset:] if stmt.end_col_offset is not None else ""
    return not head.strip() and (not tail.strip() or tail.strip().startswith("#"))
