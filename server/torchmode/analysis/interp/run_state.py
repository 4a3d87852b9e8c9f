"""The state of one function run: what the statement walker reads and writes while it
walks one function (or the module body) once.

A run starts with the function's entry grad state and ends when its body is walked. A
summary run may start while another run is under way (the callee's summary is made on
first use), so the interpreter keeps the runs on a stack and works on the top one.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..domain import Modes, State, Value
from ..facts import FuncInfo
from ..model import FuncCtx
from .events import EventSink, NullSink
from .frames import Frames

# an enclosing condition: (test, branch taken, names it reads); None for a condition we
# cannot use (its test's text, the guard's identity in a Mode, is made only when needed)
Guard = tuple[ast.expr, bool, frozenset[str]] | None


@dataclass(slots=True)
class FunctionRun:
    """One walk of a function body (``fn`` None: the module body)."""

    fn: FuncInfo | None
    main: bool                # a main run (callers' states in); else a summary run
    state: State | None       # None: no path reaches the current statement
    sink: EventSink | NullSink   # where the run's events go (nowhere for summary runs)
    ctx: FuncCtx | None = None
    return_values: list[Value] = field(default_factory=list)
    stmts: list[ast.AST] = field(default_factory=list)   # enclosing statements, outermost first
    entry: dict[str, Modes] = field(default_factory=dict)
    guards: list[Guard] = field(default_factory=list)
    yield_states: list[State] = field(default_factory=list)
    guard_used: bool = False
    frames: Frames = field(init=False)   # the run's frame binder, made once the run exists
