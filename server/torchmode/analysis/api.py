"""The facts rules read: the one engine module that ``torchmode.rules`` imports.

The interpreter records what it met in its own working form (events keyed by node,
modes with the text that explains them). This module turns that record into frozen
values with enum fields (a forward call, a mode switch, a training step, an export, a
misuse) and answers the few questions rules ask about places in the file (the
evaluation region of a call, where a fix goes, how ``no_grad`` is spelled here). A
rule never sees the interpreter, so the interpreter can change shape without
touching a rule, and a rule states its meaning in names (``ModeKind.TRAIN``,
``MisuseKind.MODE_NOT_CALLED``) rather than in strings.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

from ..findings import Range
from .context import Anchor, EvalRegion, FileAnalysis
from .freeze import Freeze, UndoneFreeze, usable_here
from .functional import Effect, IgnoredMode, ignored_mode_calls
from .layers import LayerInfo
from .model import (
    ForwardEvent,
    FuncCtx,
    Mode,
    ModeSwitchEvent,
    StepEvent,
)
from .model import GradState as GradState
from .model import MisuseKind as MisuseKind
from .model import ModeKind as ModeKind
from .needs import Need as Need
from .overrides import freeze_walker, refreezing_override
from .probing import probed_models

__all__ = [
    "Anchor", "BackwardCall", "Effect", "EvalRegion", "Export", "Facts", "ForwardCall",
    "Freeze", "Function", "GradState", "IgnoredMode", "LayerInfo", "Misuse", "MisuseKind",
    "ModeKind", "ModeOrigin", "ModeSwitch", "Need", "StepKind", "TrainingStep", "UndoneFreeze",
    "LOOP_TYPES",
]

LOOP_TYPES = (ast.For, ast.AsyncFor, ast.While)


class StepKind(Enum):
    OPTIMIZER = "optimizer"   # ``optimizer.step()``
    BACKWARD = "backward"     # ``loss.backward()``
    CALL = "call"             # a call of a function that reaches a training step


@dataclass(frozen=True, eq=False)
class Function:
    """The function (or the module) a fact belongs to; compared by identity."""

    name: str
    node: ast.AST             # FunctionDef / AsyncFunctionDef / Module
    class_name: str | None
    gradient_use: bool        # it uses gradients itself (``torch.autograd.grad``, hooks)
    evaluation_named: bool    # ``evaluate``, ``validate``, ... (RULES §2)
    reaches_step: bool


@dataclass(frozen=True, eq=False)
class ModeSwitch:
    """``m.eval()`` / ``m.train()``, or a call of a helper that leaves ``m`` in eval."""

    node: ast.AST
    kind: ModeKind
    entity: str               # the canonical entity switched
    function: Function
    statements: tuple[ast.AST, ...]   # enclosing statements in the function, outermost first


@dataclass(frozen=True)
class ModeOrigin:
    """One possible mode of a model at a place, and what set it."""

    kind: ModeKind
    line: int | None          # 0-based line of the statement that set it
    col: int
    how: str                  # for messages: ``constructed``, ``model.eval()``, ``evaluate()``
    flagged: bool             # set by a statement reported as a misuse (no follow-on finding)
    conditional: bool         # set inside an ``if``
    where: str                # another file's name when a caller there set it
    method_call: bool         # set by the model's own ``.train()`` / ``.eval()``
    node: ast.AST | None = field(default=None, compare=False, hash=False)
    switch: ModeSwitch | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True, eq=False)
class ForwardCall:
    """A model called (``model(x)``, ``model.generate(...)``), or handed to a call that
    runs it (``compute_loss(model, batch)``: ``argument_use``)."""

    node: ast.Call
    entity: str               # as written (``.module`` stripped)
    canonical: str            # after aliases
    modes: frozenset[ModeOrigin]
    grad: frozenset[GradState]
    function: Function
    statements: tuple[ast.AST, ...]
    trained: bool             # the model a training step of this file trains
    class_name: str | None
    region: EvalRegion | None     # the evaluation region holding the call, if any
    origin: ModeOrigin | None     # the latest mode that may leave it training
    argument_use: bool = False


@dataclass(frozen=True, eq=False)
class TrainingStep:
    node: ast.Call
    kind: StepKind
    function: Function
    statements: tuple[ast.AST, ...]
    # the modes at the step of the models called so far in the function, by canonical name
    modes: dict[str, frozenset[ModeOrigin]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class BackwardCall:
    node: ast.Call
    grad: frozenset[GradState]     # the grad state where ``backward()`` runs
    # the model whose output it backpropagates, as written, when the call spells one
    # (``F.cross_entropy(model(x), y).backward()``; None for ``loss.backward()``)
    entity: str | None = None


@dataclass(frozen=True, eq=False)
class Export:
    """``torch.jit.trace`` / ``torch.export.export`` / ``torch.onnx.export`` of a model."""

    node: ast.Call
    entity: str
    modes: frozenset[ModeOrigin]
    statements: tuple[ast.AST, ...]
    origin: ModeOrigin | None     # the latest mode that may leave it training


@dataclass(frozen=True, eq=False)
class Misuse:
    """A statement that misuses a mode or grad API."""

    kind: MisuseKind
    node: ast.AST             # what to report: the attribute or the context expression
    statement: ast.stmt
    entity: str               # the model, or the context as written (``torch.no_grad``)
    name: str                 # ``eval``, ``train``, ``no_grad``, ``training`` ...
    value: ast.expr | None = None   # the value assigned


def latest_training(modes: Iterable[ModeOrigin]) -> ModeOrigin | None:
    """The latest mode that may leave a model training (train, or loaded as saved); of
    modes set on the same line of several callers' files, the first file's by name
    (never the set's order, which changes from one process to the next)."""
    chosen = sorted((m for m in modes if m.kind in (ModeKind.TRAIN, ModeKind.LOADED)),
                    key=mode_order)
    if not chosen:
        return None
    return max(chosen, key=lambda m: (m.line if m.line is not None else -1, m.col))


def mode_order(mode: ModeOrigin) -> tuple[str, str, str, int, int]:
    """A total order of modes that does not depend on hashing."""
    return (mode.where, mode.kind.value, mode.how, mode.line if mode.line is not None else -1,
            mode.col)


class Facts:
    """What one analysed file offers its rules, built once from the interpreter's record.

    Lists are made on first use: a rule that is not selected costs nothing."""

    def __init__(self, fa: FileAnalysis, allowed: frozenset[Need] | None = None) -> None:
        self._fa = fa
        self._allowed = allowed
        self._parent: Facts | None = None   # a rule's view shares the facts of the whole
        self._functions: dict[int, Function] = {}
        self._switches: dict[int, ModeSwitch | None] = {}
        self._forward_events: dict[int, ForwardEvent] = {}

    def for_rule(self, needs: frozenset[Need]) -> Facts:
        """A view that refuses every fact outside ``needs``: a rule that reads a fact it
        did not declare fails its tests instead of being skipped by a prefilter made
        from its declaration."""
        view = Facts(self._fa, needs)
        view._parent = self._root
        view._functions = self._root._functions
        view._switches = self._root._switches
        view._forward_events = self._root._forward_events
        return view

    @property
    def _root(self) -> Facts:
        """The facts of the whole file (a view's parent; no reference to itself, so an
        analysis is freed by reference counting, see tests/engine/test_memory.py)."""
        return self._parent if self._parent is not None else self

    def _require(self, need: Need) -> None:
        if self._allowed is not None and need not in self._allowed:
            raise LookupError(f"a rule read {need.name} without declaring it in its needs")

    # ------------------------------------------------------------------ facts

    @property
    def forward_calls(self) -> tuple[ForwardCall, ...]:
        """Every forward call, in source order."""
        self._require(Need.FORWARD_CALLS)
        return self._root._forward_calls

    @cached_property
    def _forward_calls(self) -> tuple[ForwardCall, ...]:
        fa = self._fa
        events = sorted(fa.interp.events.forwards.values(),
                        key=lambda e: (e.node.lineno, e.node.col_offset))
        calls = []
        for ev in events:
            call = self._forward(ev, fa.eval_region(ev), False)
            self._forward_events[id(call)] = ev
            calls.append(call)
        return tuple(calls)

    @property
    def argument_uses(self) -> tuple[ForwardCall, ...]:
        """Models handed to a call that runs them (``compute_loss(model, batch)``)."""
        self._require(Need.ARGUMENT_USES)
        return self._root._argument_uses

    @cached_property
    def _argument_uses(self) -> tuple[ForwardCall, ...]:
        uses = self._fa.interp.events.arg_uses
        return tuple(self._forward(ev, None, True) for ev in uses.values())

    @property
    def training_steps(self) -> tuple[TrainingStep, ...]:
        """``optimizer.step()`` / ``loss.backward()`` and the like, by line."""
        self._require(Need.TRAINING_STEPS)
        return self._root._training_steps

    @cached_property
    def _training_steps(self) -> tuple[TrainingStep, ...]:
        steps = sorted(self._fa.interp.events.steps.values(), key=lambda s: s.node.lineno)
        return tuple(self._step(s) for s in steps)

    @property
    def step_calls(self) -> tuple[TrainingStep, ...]:
        """Calls of functions that reach a training step (``train_one_epoch(model)``)."""
        self._require(Need.TRAINING_STEPS)
        return self._root._step_calls

    @cached_property
    def _step_calls(self) -> tuple[TrainingStep, ...]:
        return tuple(self._step(s) for s in self._fa.interp.events.call_steps.values())

    @property
    def backward_calls(self) -> tuple[BackwardCall, ...]:
        self._require(Need.BACKWARD_CALLS)
        return self._root._backward_calls

    @cached_property
    def _backward_calls(self) -> tuple[BackwardCall, ...]:
        forwards = self._fa.interp.events.forwards
        return tuple(BackwardCall(ev.node, frozenset(ev.lgrad), _outermost_model(ev.node, forwards))
                     for ev in self._fa.interp.events.backwards.values())

    @property
    def exports(self) -> tuple[Export, ...]:
        self._require(Need.EXPORTS)
        return self._root._exports

    @cached_property
    def _exports(self) -> tuple[Export, ...]:
        out = []
        for ev in self._fa.interp.events.exports.values():
            modes = self._modes(ev.modes)
            out.append(Export(ev.node, ev.key, modes, ev.stmts, latest_training(modes)))
        return tuple(out)

    @property
    def misuses(self) -> tuple[Misuse, ...]:
        self._require(Need.MISUSES)
        return self._root._misuses

    @cached_property
    def _misuses(self) -> tuple[Misuse, ...]:
        return tuple(Misuse(ev.kind, ev.node, ev.stmt, ev.key, ev.name, ev.value)
                     for ev in self._fa.interp.events.misuses.values())

    def ignored_mode_calls(self) -> Iterator[IgnoredMode]:
        """Functional calls in module methods that leave ``training`` at its default."""
        self._require(Need.FUNCTIONAL_CALLS)
        return ignored_mode_calls(self._fa.facts, self._fa.resolver)

    def undone_freezes(self) -> list[UndoneFreeze]:
        """``m.train()`` calls that undo a freeze before a training step, in source order."""
        self._require(Need.FREEZES)
        undone = freeze_walker(self._fa).undone.values()
        return sorted(undone, key=lambda u: (u.train_call.lineno, u.train_call.col_offset))

    def refreezes_in_train(self, entity: str, call: ast.Call) -> bool:
        """The class of ``entity`` overrides ``train()`` and re-applies a freeze there."""
        self._require(Need.FREEZES)
        return refreezing_override(self._fa, entity, call)

    def freeze_usable_here(self, text: str, entity: str) -> bool:
        """Every name the freeze statement ``text`` reads exists in this file."""
        self._require(Need.FREEZES)
        return usable_here(text, self._fa.facts, entity)

    @property
    def probed_models(self) -> frozenset[str]:
        """Root names of the models trained by linear probing (backbone kept in eval)."""
        self._require(Need.TRAINING_STEPS)
        return self._root._probed_models

    @cached_property
    def _probed_models(self) -> frozenset[str]:
        return frozenset(probed_models(self._fa.tree, self._fa.facts.imports))

    @property
    def knows_trained_models(self) -> bool:
        """A training step of this file names the models it trains."""
        return bool(self._fa.facts.trained)

    # ------------------------------------------------------------------ questions

    def is_evaluation_loop(self, stmt: ast.AST) -> bool:
        return id(stmt) in self._fa.interp.events.eval_loops

    def forward_disables_grad(self, call: ForwardCall) -> bool:
        """The called method of the model's own class disables grad itself."""
        return self._fa.forward_grad_off(self._forward_events[id(call)])

    def after_eval(self, call: ForwardCall) -> ModeOrigin | None:
        """The ``m.eval()`` in the same function this call follows with no training step
        after it."""
        mode = self._fa.after_eval(self._forward_events[id(call)])
        return self._mode(mode) if mode is not None else None

    def anchor(self, call: ForwardCall, region: EvalRegion) -> Anchor:
        """The statement an ``eval()`` goes before."""
        return self._fa.anchor(self._forward_events[id(call)], region)

    def wrap_anchor(self, call: ForwardCall, region: EvalRegion) -> Anchor:
        """The statement a ``no_grad`` block wraps."""
        return self._fa.wrap_anchor(self._forward_events[id(call)], region)

    def layers_of(self, class_name: str | None) -> LayerInfo | None:
        return self._fa.layers_of(class_name)

    def spelling(self, name: str) -> tuple[str, str | None]:
        """``torch.no_grad()`` as this file can write it, and an import to add (or None)."""
        return self._fa.spelling(name)

    def range(self, node: ast.AST) -> Range:
        return self._fa.range(node)

    def header_range(self, node: ast.AST) -> Range:
        return self._fa.header_range(node)

    def stmt_range(self, stmt: ast.AST) -> Range:
        return self._fa.stmt_range(stmt)

    def stmt_lines(self, stmt: ast.AST) -> tuple[int, int]:
        """0-based first (decorators included) and last line of a statement."""
        return self._fa.stmt_lines(stmt)

    def line_text(self, line: int) -> str:
        return self._fa.src.line_text(line)

    # ------------------------------------------------------------------ building

    def _forward(self, ev: ForwardEvent, region: EvalRegion | None,
                 argument_use: bool) -> ForwardCall:
        modes = self._modes(ev.modes)
        return ForwardCall(ev.node, ev.key, ev.canonical, modes, frozenset(ev.grad),
                           self._function(ev.func), ev.stmts, ev.trained, ev.class_name,
                           region, latest_training(modes), argument_use)

    def _step(self, ev: StepEvent) -> TrainingStep:
        modes = {key: self._modes(value) for key, value in ev.modes.items()}
        return TrainingStep(ev.node, StepKind(ev.kind), self._function(ev.func), ev.stmts,
                            modes)

    def _modes(self, modes: Iterable[Mode]) -> frozenset[ModeOrigin]:
        return frozenset(self._mode(m) for m in modes)

    def _mode(self, mode: Mode) -> ModeOrigin:
        return ModeOrigin(mode.kind, mode.line, mode.col, mode.how, mode.flagged,
                          mode.guard is not None, mode.where, mode.method_call, mode.node,
                          self._switch(mode.node))

    def _switch(self, node: ast.AST | None) -> ModeSwitch | None:
        if node is None:
            return None
        key = id(node)
        if key not in self._switches:
            event: ModeSwitchEvent | None = self._fa.interp.events.mode_sets.get(key)
            self._switches[key] = None if event is None else ModeSwitch(
                node, event.kind, event.canonical, self._function(event.func),
                event.stmts)
        return self._switches[key]

    def _function(self, ctx: FuncCtx) -> Function:
        key = id(ctx)
        found = self._functions.get(key)
        if found is None:
            found = self._functions[key] = Function(
                ctx.name, ctx.node, ctx.class_name, ctx.gradient_use, ctx.eval_named,
                ctx.has_step)
        return found


def _outermost_model(call: ast.Call, forwards: Mapping[int, ForwardEvent]) -> str | None:
    """The model of the outermost forward call inside ``call`` (breadth first: in
    ``D(G(z)).sum().backward()`` the loss is ``D``'s output)."""
    for node in ast.walk(call):
        event = forwards.get(id(node))
        if event is not None:
            return event.key
    return None
