"""Flow-sensitive mode tracking: an abstract interpreter over the statements of
each function that matters.

State per program point: for each entity (canonical id) the set of possible
``Mode`` values, the aliases from names to entities, and the grad state.
``if``/``else`` join, loops iterate to a fixed point (so an ``eval()`` at the end
of epoch N reaches epoch N+1), ``try``/``finally`` and early exits are followed.

Functions are first run in *summary* mode (bottom-up): parameters, ``self.*``
and globals start as ``ENTRY`` and their exit value is the function's effect on
the caller. Then every function runs in *main* mode (callers first), its entry
state being the join of what its visible callers pass. A run's working state
is a ``FunctionRun`` (``interp/run_state.py``) on a stack: a summary made on first
use runs on top of the run that needs it. Only the main runs record events for
the rules: they get the file's ``EventSink``, summary runs the null sink
(``interp/events.py``).

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
from dataclasses import dataclass, field

from .domain import (
    CallRecord,
    Modes,
    Summary,
)
from .facts import FileFacts, FuncInfo
from .interp.calls import NamedCalls
from .interp.events import NULL_SINK, EventSink
from .interp.module_calls import ModuleCalls
from .interp.run_state import FunctionRun
from .interp.runs import FunctionRuns
from .interp.statements import Statements
from .interp.values import Values
from .layers import Resolver
from .names import (
    dotted,
    entity_key,
)

__all__ = ["CallRecord", "Interpreter", "Summary"]


@dataclass(slots=True)
class Memos:
    """Answers that are pure functions of the file (a node of its tree, alive for the whole
    analysis, or its facts), asked again at every run: memoised by node id."""

    dotted: dict[int, str | None] = field(default_factory=dict)    # dotted(node)
    ekey: dict[int, str | None] = field(default_factory=dict)      # entity_key(node)
    qual: dict[int, str | None] = field(default_factory=dict)      # imports.qual(node)
    # (caller, name) -> the function of this file the call runs
    callee: dict[tuple[int, str], FuncInfo | None] = field(default_factory=dict)
    unknown_callers: dict[int, bool] = field(default_factory=dict)
    reaches_step: dict[int, bool] = field(default_factory=dict)


def nested_functions(facts: FileFacts) -> dict[tuple[int, str], FuncInfo]:
    """(enclosing function node, name) -> the function defined in it."""
    return {(id(fn.parent.node), fn.name): fn for fn in facts.functions if fn.parent is not None}


class Interpreter(FunctionRuns, Statements, Values, ModuleCalls, NamedCalls):
    """Runs the dataflow for one file and collects events. The fields below are the
    file's analysis state (summaries, caller records, events) and the stack of runs
    (``FunctionRun``, the current one is ``run``); the methods are in the parts it is
    composed of (``analysis/interp/``)."""

    def __init__(self, tree: ast.Module, facts: FileFacts, resolver: Resolver,
                 path: str, eval_func_patterns: tuple[str, ...] = (),
                 eval_loader_patterns: tuple[str, ...] = (),
                 external: Callable[[str], Summary | None] | None = None,
                 is_test_file: bool = False,
                 callers: Callable[[str], CallRecord | None] | None = None) -> None:
        self.tree, self.facts, self.imports = tree, facts, facts.imports
        self.resolver, self.path, self.is_test_file = resolver, path, is_test_file
        self.eval_func_patterns = eval_func_patterns
        self.eval_loader_patterns = eval_loader_patterns
        self.external, self.callers = external, callers   # the other files, if any
        self.nested = nested_functions(facts)
        # across functions: summaries (effects on callers), what callers pass, __init__ states
        self.summaries: dict[int, Summary] = {}
        self.records: dict[int, CallRecord] = {}
        self.external_records: dict[str, CallRecord] = {}   # passed to other files' functions
        self._merged_records: dict[int, CallRecord | None] = {}
        self.init_state: dict[str, dict[str, Modes]] = {}
        self.init_classes: dict[str, dict[str, str]] = {}
        self.class_mutated: dict[str, set[str]] = {}
        self._in_progress: set[int] = set()   # summaries being made (recursion)
        # what the walk learns about names, kept across runs
        self.classes_of: dict[str, str] = {}
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
        self.guard_vars: set[str] = set()
        # memos: pure answers asked again at every run
        self.memo = Memos()
        self._refkeys: dict[int, set[str]] = {}
        self._outside_cache: dict[tuple[int, bool, bool], list[str]] = {}
        # class -> (size of class_mutated[class], its keys, their dotted prefixes)
        self._mutated_index: dict[str, tuple[int, set[str], set[str]]] = {}
        # condition -> guard_names(condition) / its text: the same ``if`` runs many times
        self._guard_cache: dict[int, frozenset[str] | None] = {}
        self._guard_texts: dict[int, str] = {}
        # the runs: the one under way (an idle one before the first) and those it suspended
        self.run = FunctionRun(None, False, None, NULL_SINK)
        self._runs: list[FunctionRun] = []
        self.events = EventSink()   # the main runs' events, for the rules
        self.budget = 400_000
        self.lines: list[str] | None = None
        # (reason, where) of every place the analysis stopped early: the outcome is Partial
        self.stopped_early: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ node memos

    def _dotted(self, node: ast.AST) -> str | None:
        memo = self.memo.dotted
        key = id(node)
        if key in memo:
            return memo[key]
        found = memo[key] = dotted(node)
        return found

    def _ekey(self, node: ast.AST) -> str | None:
        memo = self.memo.ekey
        key = id(node)
        if key in memo:
            return memo[key]
        found = memo[key] = entity_key(node)
        return found

    def _qual(self, node: ast.AST) -> str | None:
        memo = self.memo.qual
        key = id(node)
        if key in memo:
            return memo[key]
        found = memo[key] = self.imports.qual(node)
        return found
