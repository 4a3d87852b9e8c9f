"""TM003 missing-train: a training step while a trained model may be left in eval mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.context import LOOP_TYPES, FileAnalysis
from ..analysis.model import EVAL, GRAD_OFF, ForwardEvent, Mode, StepEvent
from ..analysis.probing import probed_models
from ..findings import Finding, FixKind, FixSpec, Related, Severity
from .base import Rule, finding

RULE = Rule("TM003", "missing-train", Severity.WARNING, "unsafe",
            "Training step while a trained model may still be in eval mode.")


def _same_iteration(fwd: ForwardEvent, step: StepEvent) -> bool:
    scope = None
    for stmt in reversed(step.stmts):
        if isinstance(stmt, LOOP_TYPES):
            scope = stmt
            break
    if scope is None:
        return True
    return any(s is scope for s in fwd.stmts)


def check(fa: FileAnalysis) -> Iterator[Finding]:
    interp = fa.interp
    trained_known = bool(fa.facts.trained)
    probed = _Probed(fa)
    reported: set[int] = set()
    forwards = [*interp.forwards.values(), *interp.arg_uses.values()]
    for step in sorted(interp.steps.values(), key=lambda s: s.node.lineno):
        for fwd in forwards:
            if fwd.func is not step.func or fwd.grad == {GRAD_OFF}:
                continue
            root = fwd.key.split(".", 1)[0]
            if trained_known and not fwd.trained and not _param_of(root, fwd):
                continue
            if not _same_iteration(fwd, step):
                continue
            modes = step.modes.get(fwd.canonical, fwd.modes)
            if any(m.kind == "dynamic" for m in modes):
                continue
            left_in_eval = [mode for mode in sorted(modes, key=lambda m: (m.line or 0))
                            if mode.kind == EVAL and not mode.flagged and
                            mode.node is not None and not _built_in_eval(mode.node)]
            if not left_in_eval or probed.contains(root):
                continue
            for mode in left_in_eval:
                assert mode.node is not None
                if id(mode.node) in reported:
                    continue
                reported.add(id(mode.node))
                yield _finding(fa, fwd, step, mode)


class _Probed:
    """The models trained by linear probing, found on first use: that walk of the
    whole tree is needed only for a forward that would otherwise be reported."""

    def __init__(self, fa: FileAnalysis) -> None:
        self._fa = fa
        self._roots: set[str] | None = None

    def contains(self, root: str) -> bool:
        if self._roots is None:
            self._roots = probed_models(self._fa.tree, self._fa.facts.imports)
        return root in self._roots


def _finding(fa: FileAnalysis, fwd: ForwardEvent, step: StepEvent, mode: Mode) -> Finding:
    key = fwd.key
    step_line = step.node.lineno
    origin = mode.how or f"{key}.eval()"
    message = (f"{key} may still be in eval mode at the training step on line {step_line} "
               f"({origin} at line {(mode.line or 0) + 1} leaves it in eval mode and no "
               f"{key}.train() follows before the step). Dropout and BatchNorm keep their "
               "evaluation behaviour while training.")
    related = (Related(fa.range(step.node), "training step reached in eval mode"),)
    code = f"{key}.train()"
    title = f"Insert {code} before the training step"
    target = _entry_target(fa, fwd, step, mode)
    if target is not None:
        title = f"Insert {code} where training starts in {step.func.name}()"
    else:
        target = _target(fa, fwd, step, mode)
    fixes: tuple[FixSpec, ...] = ()
    if target is not None:
        first, end = fa.stmt_lines(target)
        fixes = (FixSpec(FixKind.INSERT_TRAIN, title, False, first, end, code, key, None, True),)
    return finding(RULE, message, fa.range(mode.node), fixes, related,  # type: ignore[arg-type]
                   subject=key)


def _entry_target(fa: FileAnalysis, fwd: ForwardEvent, step: StepEvent, mode: Mode
                  ) -> ast.stmt | None:
    """``for epoch ...: train_iter(net, ...)`` where ``train_iter(model, ...)`` ends in an
    evaluation helper: the eval reaches the step through the parameter ``model``, a name
    the caller does not have. The training part starts inside the function: before the
    first statement of its body that holds the step or the model's forward call
    (RULES §4), the spelling a PyTorch user writes (``def train(model, ...): model.train()``)."""
    info = fa.interp.mode_sets.get(id(mode.node))
    if info is None or info[2] is step.func or fwd.func is not step.func:
        return None
    root = fwd.key.split(".", 1)[0]
    if not _param_of(root, fwd) or info[1].split(".", 1)[0] == root:
        return None
    firsts = [chain[0] for chain in (step.stmts, fwd.stmts)
              if chain and isinstance(chain[0], ast.stmt)]
    return min(firsts, key=lambda s: (s.lineno, s.col_offset)) if firsts else None


def _target(fa: FileAnalysis, fwd: ForwardEvent, step: StepEvent, mode: Mode) -> ast.stmt | None:
    """Where the training part of the iteration starts: the statement, in the block shared
    with the ``eval()`` (or the loop that carries it to the next epoch), holding the step."""
    interp = fa.interp
    info = interp.mode_sets.get(id(mode.node))
    origin_chain: tuple[ast.AST, ...] = info[3] if info is not None else ()
    origin_ctx = info[2] if info is not None else None
    step_chain: tuple[ast.AST, ...] = step.stmts
    fwd_chain: tuple[ast.AST, ...] = fwd.stmts
    if origin_ctx is not None and origin_ctx is not step.func:
        # the eval() happened in a caller: use the caller's call that reaches the step
        best: tuple[ast.AST, ...] | None = None
        best_len = -1
        for call in interp.call_steps.values():
            if call.func is not origin_ctx:
                continue
            n = _common(call.stmts, origin_chain)
            if n > best_len:
                best, best_len = call.stmts, n
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


def _param_of(root: str, fwd: ForwardEvent) -> bool:
    """``def train_iter(model, optimizer, loader)``: a model handed to the function that runs
    the training step on it is the caller's trained model (RULES §2, TM003 next epoch)."""
    node = fwd.func.node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = node.args
    return root in {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}

