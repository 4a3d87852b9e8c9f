"""Where the interpreter's runs put what they observe for the rules.

Only a main run records events: it gets the file's ``EventSink``. Summary runs (which
compute a function's effect on its callers) get the ``NullSink``, whose methods do
nothing, so the walker calls the sink unconditionally. Events that need the
interpreter's analysis to build (a forward call's modes, classes and regions) are built
by an interpreter method the sink runs: ``sink.observe(build, *args)``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import ParamSpec

from ..domain import Modes
from ..model import (
    ExportEvent,
    ForwardEvent,
    FuncCtx,
    MisuseEvent,
    MisuseKind,
    ModeKind,
    ModeSwitchEvent,
    StepEvent,
)

P = ParamSpec("P")


class EventSink:
    """The events of the main runs of one file, each keyed by its node (a node met again,
    in the next loop iteration or from another caller, merges into its event)."""

    __slots__ = ("arg_uses", "backwards", "call_steps", "eval_loops", "exports", "forwards",
                 "misuses", "mode_sets", "nograd_withs", "occurrences", "steps")

    def __init__(self) -> None:
        self.forwards: dict[int, ForwardEvent] = {}
        self.arg_uses: dict[tuple[int, str], ForwardEvent] = {}
        self.steps: dict[int, StepEvent] = {}
        self.call_steps: dict[int, StepEvent] = {}
        self.backwards: dict[int, StepEvent] = {}
        self.exports: dict[int, ExportEvent] = {}
        self.misuses: dict[int, MisuseEvent] = {}
        self.mode_sets: dict[int, ModeSwitchEvent] = {}
        self.nograd_withs: set[int] = set()
        self.eval_loops: set[int] = set()
        self.occurrences: dict[int, tuple[ast.AST, str, Modes, str | None]] = {}

    def observe(self, build: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> None:
        """Run ``build``, an interpreter method that records an event into this sink."""
        build(*args, **kwargs)

    def misuse(self, kind: MisuseKind, node: ast.AST, stmt: ast.stmt, key: str, name: str,
               value: ast.expr | None = None) -> None:
        self.misuses[id(node)] = MisuseEvent(kind, node, stmt, key, name, value)

    def mode_set(self, node: ast.AST, kind: ModeKind, canonical: str, ctx: FuncCtx,
                 stmts: Sequence[ast.AST]) -> None:
        self.mode_sets[id(node)] = ModeSwitchEvent(kind, canonical, ctx, tuple(stmts))

    def export(self, node: ast.Call, key: str, modes: Modes, ctx: FuncCtx,
               stmts: Sequence[ast.AST]) -> None:
        ev = self.exports.get(id(node))
        if ev is None:
            self.exports[id(node)] = ExportEvent(node, key, set(modes), ctx, tuple(stmts))
        else:
            ev.modes |= modes

    def call_step(self, node: ast.Call, ctx: FuncCtx, stmts: Sequence[ast.AST]) -> None:
        """A call of a function that reaches a training step."""
        if id(node) not in self.call_steps:
            self.call_steps[id(node)] = StepEvent(node, "call", ctx, tuple(stmts))

    def nograd_with(self, stmt: ast.AST) -> None:
        self.nograd_withs.add(id(stmt))

    def eval_loop(self, node: ast.AST) -> None:
        """A loop (or comprehension) over a loader named like evaluation data."""
        self.eval_loops.add(id(node))


class NullSink:
    """The sink of summary runs: every event is dropped (the main run records it)."""

    __slots__ = ()

    def observe(self, build: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> None:
        pass

    def misuse(self, kind: MisuseKind, node: ast.AST, stmt: ast.stmt, key: str, name: str,
               value: ast.expr | None = None) -> None:
        pass

    def mode_set(self, node: ast.AST, kind: ModeKind, canonical: str, ctx: FuncCtx,
                 stmts: Sequence[ast.AST]) -> None:
        pass

    def export(self, node: ast.Call, key: str, modes: Modes, ctx: FuncCtx,
               stmts: Sequence[ast.AST]) -> None:
        pass

    def call_step(self, node: ast.Call, ctx: FuncCtx, stmts: Sequence[ast.AST]) -> None:
        pass

    def nograd_with(self, stmt: ast.AST) -> None:
        pass

    def eval_loop(self, node: ast.AST) -> None:
        pass


NULL_SINK = NullSink()
