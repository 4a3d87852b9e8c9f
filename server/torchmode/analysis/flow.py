"""Flow-sensitive mode tracking: an abstract interpreter over the statements of
each function that matters.

State per program point: for each entity (canonical id) the set of possible
``Mode`` values, the aliases from names to entities, and the grad state.
``if``/``else`` join, loops iterate to a fixed point (so an ``eval()`` at the end
of epoch N reaches epoch N+1), ``try``/``finally`` and early exits are followed.

Functions are first run in *summary* mode (bottom-up): parameters, ``self.*``
and globals start as ``ENTRY`` and their exit value is the function's effect on
the caller. Then every function runs in *main* mode (callers first), its entry
state being the join of what its visible callers pass. Only the main runs
record events for the rules.

The interpreter is composed of parts, one concern each, in ``analysis/interp/``:
``runs`` (which functions run, in which order), ``statements`` (the statement walker),
``frames`` (the frame binder: where jumps go, and the joins), ``values`` (assignments
and expressions), ``module_calls`` (mode switches, forward calls, training steps) and
``calls`` (constructors, loaders, exports, the project's own functions). The abstract
values and the state are in ``domain.py``, the PyTorch tables in ``torch_api.py`` and
``names.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from .domain import (
    CallRecord,
    Modes,
    State,
    Summary,
    Value,
)
from .facts import FileFacts, FuncInfo
from .interp.calls import NamedCalls
from .interp.frames import Frames
from .interp.module_calls import ModuleCalls
from .interp.runs import FunctionRuns
from .interp.statements import Statements
from .interp.values import Values
from .layers import Resolver
from .model import (
    ExportEvent,
    ForwardEvent,
    FuncCtx,
    MisuseEvent,
    ModeSwitchEvent,
    StepEvent,
)
from .names import (
    dotted,
    entity_key,
)

__all__ = ["CallRecord", "Interpreter", "Summary"]


class Interpreter(FunctionRuns, Statements, Values, ModuleCalls, NamedCalls):
    """Runs the dataflow for one file and collects events. The fields below are the
    file's analysis state (summaries, caller records, events) and the current run's;
    the methods are in the parts it is composed of (``analysis/interp/``)."""

    def __init__(self, tree: ast.Module, facts: FileFacts, resolver: Resolver,
                 path: str, eval_func_patterns: tuple[str, ...] = (),
                 eval_loader_patterns: tuple[str, ...] = (),
                 external: Callable[[str], Summary | None] | None = None,
                 is_test_file: bool = False,
                 callers: Callable[[str], CallRecord | None] | None = None) -> None:
        self.tree = tree
        self.facts = facts
        self.imports = facts.imports
        self.resolver = resolver
        self.path = path
        self.eval_func_patterns = eval_func_patterns
        self.eval_loader_patterns = eval_loader_patterns
        self.external = external
        self.is_test_file = is_test_file
        self.callers = callers
        self.external_records: dict[str, CallRecord] = {}
        self._merged_records: dict[int, CallRecord | None] = {}
        self.summaries: dict[int, Summary] = {}
        self.records: dict[int, CallRecord] = {}
        self.init_state: dict[str, dict[str, Modes]] = {}
        self.class_mutated: dict[str, set[str]] = {}
        self.nested: dict[tuple[int, str], FuncInfo] = {}
        for fn in facts.functions:
            if fn.parent is not None:
                self.nested[(id(fn.parent.node), fn.name)] = fn
        # events (main runs)
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
        self.classes_of: dict[str, str] = {}
        self.occurrences: dict[int, tuple[ast.AST, str, Modes, str | None]] = {}
        # (function, name) -> the loop (or function) it was made in with torch.randn & co
        # (function, name) -> (loop scope, made from numpy random data)
        self.spot_names: dict[tuple[int, str], tuple[int, bool]] = {}
        self.not_modules: list[str] = []   # names in the else of isinstance(x, nn.Module)
        self.not_module_tests: set[str] = set()   # the text of those isinstance tests
        self.loaded_canon: set[str] = set()
        self.contains: dict[str, tuple[str, ...]] = {}
        # (function or module node, name) -> classes of the modules assigned to it
        self.assigned_classes: dict[tuple[int, str], set[str]] = {}
        # (function or module node, canonical) -> classes a factory's result may have
        self.maybe_classes: dict[tuple[int, str], tuple[str, ...]] = {}
        self._call_classes: dict[int, tuple[str, ...]] = {}
        # (scope, name) -> the models a trainer object was built with (callbacks.py)
        self.trainers: dict[tuple[int, str], tuple[str, ...]] = {}
        self.budget = 400_000
        # (reason, where) of every place the analysis stopped early: the outcome is Partial
        self.stopped_early: set[tuple[str, str]] = set()
        self._reach: dict[int, bool] = {}
        self._in_progress: set[int] = set()
        self.yield_states: list[State] = []
        self.guard_used = False
        self.guard_vars: set[str] = set()
        self.lines: list[str] | None = None
        self.init_classes: dict[str, dict[str, str]] = {}
        # enclosing conditions: (test, branch taken, names it reads); the test's text (the
        # guard's identity in a Mode) is made only when a mode is set or filtered under it
        self.guards: list[tuple[ast.expr, bool, frozenset[str]] | None] = []
        self._refkeys: dict[int, set[str]] = {}
        self._outside_cache: dict[tuple[int, bool, bool], list[str]] = {}
        # dotted()/entity_key()/imports.qual() of a tree node, by id(node): pure functions
        # of a node of ``tree`` (alive for the whole analysis), asked again at every run
        self._dotted_memo: dict[int, str | None] = {}
        self._ekey_memo: dict[int, str | None] = {}
        self._qual_memo: dict[int, str | None] = {}
        self._callee_memo: dict[tuple[int, str], FuncInfo | None] = {}
        self._unknown_memo: dict[int, bool] = {}
        # class -> (size of class_mutated[class], its keys, their dotted prefixes)
        self._mutated_index: dict[str, tuple[int, set[str], set[str]]] = {}
        # condition -> guard_names(condition) / its text: the same ``if`` runs many times
        # (summary run, main run, each loop iteration)
        self._guard_cache: dict[int, frozenset[str] | None] = {}
        self._guard_texts: dict[int, str] = {}
        # per-run fields
        self.fn: FuncInfo | None = None
        self.ctx: FuncCtx | None = None
        self.main = False
        self.state: State | None = None
        self.frames = Frames(self)
        self.return_values: list[Value] = []
        self.stmts: list[ast.AST] = []
        self.entry: dict[str, Modes] = {}

    # ------------------------------------------------------------------ node memos

    def _dotted(self, node: ast.AST) -> str | None:
        memo = self._dotted_memo
        key = id(node)
        if key in memo:
            return memo[key]
        found = memo[key] = dotted(node)
        return found

    def _ekey(self, node: ast.AST) -> str | None:
        memo = self._ekey_memo
        key = id(node)
        if key in memo:
            return memo[key]
        found = memo[key] = entity_key(node)
        return found

    def _qual(self, node: ast.AST) -> str | None:
        memo = self._qual_memo
        key = id(node)
        if key in memo:
            return memo[key]
        found = memo[key] = self.imports.qual(node)
        return found
