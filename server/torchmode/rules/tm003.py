"""TM003 missing-train: a training step while a trained model may be left in eval mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.api import (
    LOOP_TYPES,
    Facts,
    ForwardCall,
    GradState,
    ModeKind,
    ModeOrigin,
    Need,
    TrainingStep,
)
from ..findings import Finding, FixKind, FixSpec, Related, Severity
from .base import FixApplicability, Rule, finding


def _same_iteration(fwd: ForwardCall, step: TrainingStep) -> bool:
    scope = None
    for stmt in reversed(step.statements):
        if isinstance(stmt, LOOP_TYPES):
            scope = stmt
            break
    if scope is None:
        return True
    return any(s is scope for s in fwd.statements)


class MissingTrain(Rule):
    code = "TM003"
    name = "missing-train"
    severity = Severity.WARNING
    fix_applicability = FixApplicability.UNSAFE
    summary = "Training step while a trained model may still be in eval mode."
    needs = frozenset({Need.FORWARD_CALLS, Need.ARGUMENT_USES, Need.TRAINING_STEPS})
    VALID = (
        """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 2), nn.Dropout(0.5))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            model(x)
""",
    )
    INVALID = (
        """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 2), nn.Dropout(0.5))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()  # TM003
    with torch.no_grad():
        for x, y in val_loader:
            model(x)
""",
    )

    def check(self, facts: Facts) -> Iterator[Finding]:
        trained_known = facts.knows_trained_models
        reported: set[int] = set()
        forwards = [*facts.forward_calls, *facts.argument_uses]
        for step in facts.training_steps:
            for fwd in forwards:
                if fwd.function is not step.function or fwd.grad == {GradState.OFF}:
                    continue
                root = fwd.entity.split(".", 1)[0]
                if trained_known and not fwd.trained and not _param_of(root, fwd):
                    continue
                if not _same_iteration(fwd, step):
                    continue
                modes = step.modes.get(fwd.canonical, fwd.modes)
                if any(m.kind is ModeKind.DYNAMIC for m in modes):
                    continue
                left_in_eval = [mode for mode in sorted(modes, key=lambda m: (m.line or 0))
                                if mode.kind is ModeKind.EVAL and not mode.flagged and
                                mode.node is not None and not _built_in_eval(mode.node)]
                # the linear-probing walk of the whole tree, only for a forward that
                # would otherwise be reported
                if not left_in_eval or root in facts.probed_models:
                    continue
                for mode in left_in_eval:
                    if id(mode.node) in reported:
                        continue
                    reported.add(id(mode.node))
                    yield _finding(self, facts, fwd, step, mode)


def _finding(rule: Rule, facts: Facts, fwd: ForwardCall, step: TrainingStep,
             mode: ModeOrigin) -> Finding:
    key = fwd.entity
    step_line = step.node.lineno
    origin = mode.how or f"{key}.eval()"
    message = (f"{key} may still be in eval mode at the training step on line {step_line} "
               f"({origin} at line {(mode.line or 0) + 1} leaves it in eval mode and no "
               f"{key}.train() follows before the step). Dropout and BatchNorm keep their "
               "evaluation behaviour while training.")
    related = (Related(facts.range(step.node), "training step reached in eval mode"),)
    code = f"{key}.train()"
    title = f"Insert {code} before the training step"
    target = _entry_target(fwd, step, mode)
    if target is not None:
        title = f"Insert {code} where training starts in {step.function.name}()"
    else:
        target = _target(facts, fwd, step, mode)
    fixes: tuple[FixSpec, ...] = ()
    if target is not None:
        first, end = facts.stmt_lines(target)
        fixes = (FixSpec(kind=FixKind.INSERT_TRAIN, title=title, safe=False,
                         target_line=first, target_end_line=end, code=code, entity=key,
                         import_line=None, preferred=True),)
    return finding(rule, message, facts.range(mode.node), fixes, related,  # type: ignore[arg-type]
                   subject=key)


def _entry_target(fwd: ForwardCall, step: TrainingStep, mode: ModeOrigin) -> ast.stmt | None:
    """``for epoch ...: train_iter(net, ...)`` where ``train_iter(model, ...)`` ends in an
    evaluation helper: the eval reaches the step through the parameter ``model``, a name
    the caller does not have. The training part starts inside the function: before the
    first statement of its body that holds the step or the model's forward call
    (RULES §4), the spelling a PyTorch user writes (``def train(model, ...): model.train()``)."""
    switch = mode.switch
    if switch is None or switch.function is step.function or fwd.function is not step.function:
        return None
    root = fwd.entity.split(".", 1)[0]
    if not _param_of(root, fwd) or switch.entity.split(".", 1)[0] == root:
        return None
    firsts = [chain[0] for chain in (step.statements, fwd.statements)
              if chain and isinstance(chain[0], ast.stmt)]
    return min(firsts, key=lambda s: (s.lineno, s.col_offset)) if firsts else None


def _target(facts: Facts, fwd: ForwardCall, step: TrainingStep, mode: ModeOrigin
            ) -> ast.stmt | None:
    """Where the training part of the iteration starts: the statement, in the block shared
    with the ``eval()`` (or the loop that carries it to the next epoch), holding the step."""
    switch = mode.switch
    origin_chain: tuple[ast.AST, ...] = switch.statements if switch is not None else ()
    origin_function = switch.function if switch is not None else None
    step_chain: tuple[ast.AST, ...] = step.statements
    fwd_chain: tuple[ast.AST, ...] = fwd.statements
    if origin_function is not None and origin_function is not step.function:
        # the eval() happened in a caller: use the caller's call that reaches the step
        best: tuple[ast.AST, ...] | None = None
        best_len = -1
        for call in facts.step_calls:
            if call.function is not origin_function:
                continue
            n = _common(call.statements, origin_chain)
            if n > best_len:
                best, best_len = call.statements, n
        if best is None:
            return None
        step_chain = best
        fwd_chain = best
    n = _common(step_chain, origin_chain)
    candidates = []
    if n < len(step_chain):
        candidates.append(step_chain[n])
    if n < len(fwd_chain) and _common(fwd_chain, step_chain) >= n:
        candidates.append(fwd_chain[n])
    stmts = [c for c in candidates if isinstance(c, ast.stmt)]
    if not stmts:
        inner = [s for s in step_chain if isinstance(s, ast.stmt)]
        return inner[-1] if inner else None
    return min(stmts, key=lambda s: (s.lineno, s.col_offset))


def _common(a: tuple[ast.AST, ...], b: tuple[ast.AST, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x is not y:
            break
        n += 1
    return n


def _built_in_eval(node: ast.AST) -> bool:
    """``vgg = VGGNet().to(device).eval()``: a network made in eval mode and kept there (a
    perceptual-loss or style network, RULES §2), not a trained model left in eval."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        isinstance(node.func.value, ast.Call)


def _param_of(root: str, fwd: ForwardCall) -> bool:
    """``def train_iter(model, optimizer, loader)``: a model handed to the function that runs
    the training step on it is the caller's trained model (RULES §2, TM003 next epoch)."""
    node = fwd.function.node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = node.args
    return root in {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}

