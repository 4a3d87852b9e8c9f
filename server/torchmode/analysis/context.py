"""Everything the rules read about one file, built once: facts, the dataflow
events, and the derived region information (evaluation regions, training steps,
fix targets and spellings)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..findings import Position, Range
from ..settings import Settings
from ..source import SourceText
from .facts import FileFacts
from .flow import Interpreter
from .layers import LayerInfo, Resolver
from .model import (
    EVAL,
    GRAD_DYN,
    GRAD_OFF,
    LOADED,
    ForwardEvent,
    FuncCtx,
    Mode,
    StepEvent,
)
from .names import FORWARD_METHODS, Imports

LOOP_TYPES = (ast.For, ast.AsyncFor, ast.While)
COMP_TYPES = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


@dataclass(frozen=True)
class EvalRegion:
    kind: str  # "loop" | "nograd" | "function" | "script" | "periodic" | "after-eval"
    node: ast.AST | None    # loop/with statement or function def (None: script)
    training_context: bool = False


@dataclass
class Anchor:
    """The statement a fix acts on, and how to name it in a title."""

    stmt: ast.stmt
    label: str              # "the loop", "the with block", "this statement", "evaluate()"
    whole_function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    first: ast.stmt | None = None   # for whole-function regions: first body statement
    last: ast.stmt | None = None
    at_start: bool = False          # the insert goes at the start of the function body


@dataclass
class FileAnalysis:
    src: SourceText
    path: str
    tree: ast.Module
    facts: FileFacts
    interp: Interpreter
    resolver: Resolver
    settings: Settings
    step_ancestors: set[int] = field(default_factory=set)
    step_scopes: set[int] = field(default_factory=set)
    inference_script: bool = False
    _store_lines: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    @property
    def imports(self) -> Imports:
        return self.facts.imports

    # ---------------------------------------------------------------- derived facts

    def prepare(self) -> None:
        events = self.interp.events
        for ev in (*events.steps.values(), *events.call_steps.values()):
            self.step_ancestors.update(id(s) for s in ev.stmts)
            self.step_ancestors.add(id(ev.func.node))
            self.step_scopes.add(id(_innermost_scope(ev.stmts, ev.func.node)))
        has_training = bool(events.steps) or bool(events.call_steps) or self.facts.any_step
        if not has_training:
            self.inference_script = any(self.is_loaded(ev) for ev in events.forwards.values())

    def is_loaded(self, ev: ForwardEvent) -> bool:
        if ev.key in self.facts.loaded_keys or ev.canonical in self.interp.loaded_canon:
            return True
        root = ev.canonical.split(".", 1)[0]
        if root in self.interp.loaded_canon:
            return True
        return any(m.kind == LOADED for m in ev.modes)

    def grad_disabled(self, grad: set[str]) -> bool:
        """Covered by a grad-disabling context (or dynamically decided: never report)."""
        return GRAD_OFF in grad or GRAD_DYN in grad

    def excluded(self, ev: ForwardEvent) -> bool:
        ctx = ev.func
        if ctx.is_pytest or ctx.is_hook or ev.smoke:
            return True
        if ctx.is_module_class and (ev.key == "self" or ev.key.startswith("self.")):
            return True
        return False

    def forward_grad_off(self, ev: ForwardEvent) -> bool:
        """The called method of the model's own class disables grad itself."""
        func = ev.node.func
        method = func.attr if isinstance(func, ast.Attribute) and \
            func.attr in FORWARD_METHODS else "forward"
        return self.interp.may_run_grad_off(ev, method)

    def eval_region(self, ev: ForwardEvent) -> EvalRegion | None:
        """The outermost evaluation region holding the forward call, if any."""
        if self.excluded(ev):
            return None
        ctx = ev.func
        found: list[EvalRegion] = []
        if ctx.nograd_decorated:
            found.append(EvalRegion("nograd-function", ctx.node, ctx.has_step))
        elif ctx.eval_named and not ctx.has_step and not isinstance(ctx.node, ast.Module):
            found.append(EvalRegion("function", ctx.node))
        interp = self.interp
        for index, stmt in enumerate(ev.stmts):
            if id(stmt) in self.step_ancestors:
                continue
            if id(stmt) in interp.events.nograd_withs:
                scope = _innermost_scope(ev.stmts[:index], ctx.node)
                training = id(scope) in self.step_scopes
                found.append(EvalRegion("nograd", stmt, training))
            elif id(stmt) in interp.events.eval_loops:
                found.append(EvalRegion("loop", stmt))
            elif isinstance(stmt, ast.If) and _periodic(stmt.test) and any(
                    isinstance(s, LOOP_TYPES) and id(s) in self.step_ancestors
                    for s in ev.stmts[:index]) and not _in_branch(stmt.orelse, ev.stmts):
                found.append(EvalRegion("periodic", stmt))
        if not found and self.inference_script and self.is_loaded(ev):
            found.append(EvalRegion("script", None))
        if not found:
            return None
        for region in found:
            if not region.training_context:
                return region
        return found[-1]

    def after_eval(self, ev: ForwardEvent) -> Mode | None:
        """The ``m.eval()`` in the same function this call follows with no training step after."""
        if self.excluded(ev) or not ev.modes:
            return None
        if any(m.kind != EVAL or m.flagged or m.node is None for m in ev.modes):
            return None
        interp = self.interp
        for mode in ev.modes:
            switch = interp.events.mode_sets.get(id(mode.node))
            if switch is None or switch.func is not ev.func:
                return None
            line = mode.line or 0
            counts, loop = self._training_loop_of(ev, switch.stmts, line)
            if not counts:
                return None
            last = (loop.end_lineno or loop.lineno) if loop is not None else None
            for step in (*interp.events.steps.values(), *interp.events.call_steps.values()):
                if step.func is ev.func and step.node.lineno - 1 >= line and \
                        (last is None or step.node.lineno <= last) and \
                        not self._rebound_between(ev, step.node.lineno):
                    return None
        ordered = sorted(ev.modes, key=lambda m: (m.where, m.kind, m.how, m.col))
        return max(ordered, key=lambda m: m.line or 0)

    def _training_loop_of(self, ev: ForwardEvent, eval_stmts: tuple[ast.AST, ...],
                          eval_line: int) -> tuple[bool, ast.stmt | None]:
        """(does the ``m.eval()`` count for this call, the innermost training loop holding
        it). Inside a training loop the eval counts only for a call later in the same
        iteration (``G.eval(); samples = G(fixed_z)`` at the end of an epoch), and only
        the training steps after it in that loop make the call part of training."""
        loops = [s for s in eval_stmts
                 if isinstance(s, LOOP_TYPES) and id(s) in self.step_ancestors]
        if not loops:
            return True, None
        loop = loops[-1]
        assert isinstance(loop, ast.stmt)
        return any(s is loop for s in ev.stmts) and ev.node.lineno - 1 >= eval_line, loop

    def _rebound_between(self, ev: ForwardEvent, step_line: int) -> bool:
        """``net = new_model()`` between the forward call and a later training step: the
        step trains the new model, not this one (RULES §2, rebinding)."""
        root = ev.key.split(".", 1)[0]
        key = (id(ev.func.node), root)
        lines = self._store_lines.get(key)
        if lines is None:
            lines = self._store_lines[key] = [
                sub.lineno for sub in ast.walk(ev.func.node)
                if isinstance(sub, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == root for t in sub.targets)]
        return any(ev.node.lineno < n <= step_line for n in lines)

    # ---------------------------------------------------------------- anchors

    def wrap_anchor(self, ev: ForwardEvent, region: EvalRegion) -> Anchor:
        """What TM002 wraps: the loop running the forward calls (the outermost one in the
        function), else the statement holding the call; a whole-function region may also
        be decorated."""
        if region.kind == "loop" and isinstance(region.node, ast.stmt):
            return self.anchor(ev, region)
        stmts = [s for s in ev.stmts if isinstance(s, ast.stmt)]
        ctx = ev.func
        whole = ctx.node if region.kind == "function" and isinstance(
            ctx.node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        root = ev.key.split(".", 1)[0]
        loops = self._eval_loops(stmts)
        if loops and not _assigns(loops[0], root):
            return Anchor(loops[0], "the loop", whole)
        holder = _holder(ev.stmts, ev.node) or (stmts[-1] if stmts else None)
        assert holder is not None
        return Anchor(holder, "this statement", whole)

    def anchor(self, ev: ForwardEvent, region: EvalRegion) -> Anchor:
        stmts = [s for s in ev.stmts if isinstance(s, ast.stmt)]
        innermost = stmts[-1] if stmts else None
        ctx = ev.func
        if region.kind in ("loop", "nograd") and region.node is not None:
            node = region.node
            if isinstance(node, ast.stmt):
                return Anchor(node, "the loop" if isinstance(node, LOOP_TYPES) else
                              "the with block")
            # a comprehension: the statement holding it
            holder = _holder(ev.stmts, node) or innermost
            assert holder is not None
            return Anchor(holder, "this statement")
        root = ev.key.split(".", 1)[0]
        local = self._is_local(root, ctx)
        if region.kind in ("function", "nograd-function") and isinstance(
                ctx.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = _body_without_docstring(ctx.node)
            if not local:
                return Anchor(body[0], f"{ctx.name}()", ctx.node, body[0], body[-1], True)
            target = _after_binding(body, root)
            if target is not None:
                return Anchor(target, "this statement", ctx.node, body[0], body[-1], False)
        loops = self._eval_loops(stmts)
        if loops and not _assigns(loops[0], root):
            if not local or _assigned_before(ctx.node, root, loops[0].lineno):
                return Anchor(loops[0], "the loop")
        assert innermost is not None
        return Anchor(innermost, "this statement")

    def _eval_loops(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        """Loops holding the call that a fix may wrap: never one that reaches a training
        step (wrapping the epoch loop in no_grad would stop training)."""
        return [s for s in stmts if isinstance(s, LOOP_TYPES) and id(s) not in self.step_ancestors]

    def _is_local(self, root: str, ctx: FuncCtx) -> bool:
        if isinstance(ctx.node, ast.Module):
            return root in self.facts.module_assigned
        fn = self.facts.by_node.get(id(ctx.node))
        return fn is not None and root in fn.locals

    # ---------------------------------------------------------------- helpers

    def range(self, node: ast.AST) -> Range:
        return self.src.node_range(node)

    def header_range(self, node: ast.AST) -> Range:
        """``for x in loader`` / ``while cond`` / ``with ...`` up to the colon."""
        if isinstance(node, (ast.For, ast.AsyncFor)):
            end = node.iter
        elif isinstance(node, ast.While):
            end = node.test
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            end = node.items[-1].optional_vars or node.items[-1].context_expr
        else:
            return self.range(node)
        start = self.range(node).start
        stop = self.range(end).end
        return Range(start, stop)

    def def_range(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Range:
        """``def name(...)`` on the def line: from ``def`` (or ``async``) to the line's end."""
        line = fn.lineno - 1
        text = self.src.line_text(line)
        start = self.src.utf16_column(line, fn.col_offset)
        stripped = text.rstrip()
        if stripped.endswith(":"):
            stripped = stripped[:-1]
        if "#" in stripped:
            stripped = stripped.split("#", 1)[0].rstrip()
        end = len(stripped.encode("utf-16-le")) // 2
        return Range(Position(line, start), Position(line, max(end, start)))

    def stmt_lines(self, stmt: ast.AST) -> tuple[int, int]:
        first = stmt.lineno - 1  # type: ignore[attr-defined]
        decorators = getattr(stmt, "decorator_list", None)
        if decorators:
            first = min(first, *(d.lineno - 2 for d in decorators))
        end = (getattr(stmt, "end_lineno", None) or stmt.lineno) - 1  # type: ignore[attr-defined]
        return first, end

    def spelling(self, name: str) -> tuple[str, str | None]:
        text, imp = self.imports.spelling(name)
        return f"{text}()", imp

    def layers_of(self, class_name: str | None) -> LayerInfo | None:
        if not class_name:
            return None
        return self.resolver.layers(class_name)

    def stmt_range(self, stmt: ast.AST) -> Range:
        line = stmt.lineno - 1  # type: ignore[attr-defined]
        return Range(Position(line, 0), Position(line, 0))


def _innermost_scope(stmts: tuple[ast.AST, ...], func_node: ast.AST) -> ast.AST:
    for stmt in reversed(stmts):
        if isinstance(stmt, LOOP_TYPES) or isinstance(stmt, COMP_TYPES):
            return stmt
    return func_node


def _holder(stmts: tuple[ast.AST, ...], node: ast.AST) -> ast.stmt | None:
    """The innermost statement of ``stmts`` before ``node`` (or the last one)."""
    holder: ast.stmt | None = None
    for stmt in stmts:
        if stmt is node:
            return holder
        if isinstance(stmt, ast.stmt):
            holder = stmt
    return holder


def _body_without_docstring(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
            isinstance(body[0].value.value, str):
        body = body[1:] or body
    return body


def _after_binding(body: list[ast.stmt], name: str) -> ast.stmt | None:
    """The first statement after the last top-level statement binding ``name``."""
    last = -1
    for index, stmt in enumerate(body):
        if _assigns(stmt, name):
            last = index
    if last + 1 < len(body):
        return body[last + 1]
    return None


def _assigns(node: ast.AST, name: str) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == name and isinstance(sub.ctx, ast.Store):
            return True
    return False


def _assigned_before(scope: ast.AST, name: str, line: int) -> bool:
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = scope.args
        if any(a.arg == name for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)):
            return True
    body = getattr(scope, "body", [])
    for stmt in body:
        if stmt.lineno >= line:
            break
        if _assigns(stmt, name):
            return True
    # assignments nested in earlier blocks (if __name__ == "__main__": ...)
    for sub in ast.walk(scope):
        if isinstance(sub, ast.Name) and sub.id == name and isinstance(sub.ctx, ast.Store) \
                and sub.lineno < line:
            return True
    return False


def step_event_lines(events: list[StepEvent]) -> list[int]:
    return sorted(ev.node.lineno - 1 for ev in events)


def _periodic(test: ast.expr) -> bool:
    """``step % 50 == 0``, ``epoch % k == 0``, ``i == len(loader) - 1``: a condition that
    picks some iterations of a training loop for evaluation (RULES §2)."""
    if isinstance(test, ast.BoolOp):
        return any(_periodic(v) for v in test.values)
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or \
            not isinstance(test.ops[0], ast.Eq):
        return False
    sides = (test.left, test.comparators[0])
    if any(isinstance(s, ast.BinOp) and isinstance(s.op, ast.Mod) for s in sides):
        return True
    return any(isinstance(s, ast.BinOp) and isinstance(s.op, ast.Sub) and
               isinstance(s.left, ast.Call) and isinstance(s.left.func, ast.Name) and
               s.left.func.id == "len" for s in sides)


def _in_branch(branch: list[ast.stmt], stmts: tuple[ast.AST, ...] | list[ast.AST]) -> bool:
    """Is one of ``stmts`` a statement of ``branch`` (the else of a periodic test)?"""
    ids = {id(s) for s in branch}
    return any(id(s) in ids for s in stmts)

