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
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import replace

from .callbacks import builds_trainer, handed_callbacks, registering_receiver
from .decorators import returns_grad_off
from .domain import (
    ENTRY_MODES,
    KEEP,
    MAX_LOOP_ITERATIONS,
    UNKNOWN_PARAM,
    Budget,
    CallRecord,
    Ent,
    Flag,
    GradCtx,
    LoopCtx,
    Modes,
    New,
    State,
    Summary,
    Tup,
    Value,
    entity_children,
    key_splits,
    record_lookup,
    resolve_alias,
    self_keys,
    strip_nodes,
)
from .facts import FileFacts, FuncInfo, is_optimizer_name
from .layers import NEUTRAL_BUILTINS, ClassSummary, Resolver
from .model import (
    DYNAMIC,
    ENTRY,
    EVAL,
    GRAD_DYN,
    GRAD_OFF,
    GRAD_ON,
    GRAD_UNK,
    LOADED,
    TRAIN,
    UNKNOWN,
    ExportEvent,
    ForwardEvent,
    FuncCtx,
    MisuseEvent,
    MisuseKind,
    Mode,
    ModeSwitchEvent,
    StepEvent,
)
from .names import (
    EXPORTERS,
    FACTORY_PREFIXES,
    GRAD_OFF_CTX,
    GRAD_ON_CTX,
    HOOK_RE,
    LOADERS,
    MODULE_METHODS,
    NOT_FORWARD_METHODS,
    PRETRAINED_EVAL_PREFIXES,
    SELF_RETURNING,
    SET_GRAD,
    SPOT_TENSOR_FUNCS,
    WRAPPERS,
    dotted,
    entity_key,
    entity_key_of,
    is_eval_function_name,
    is_eval_loader_name,
    looks_like_model_name,
)
from .torch_api import (
    EVAL_LOOP_TEXT,
    HARMLESS_CALLS,
    LOSS_CLASS,
    PURE_TESTS,
    RELEVANT_TEXT,
    TENSOR_CASTS,
    TORCH_MODULE_API,
    TRAIN_FLAGS,
    VERB_PREFIX,
)

# ----------------------------------------------------------------------------- interpreter


class Interpreter:
    """Runs the dataflow for one file and collects events."""

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
        self.loops: list[LoopCtx] = []
        self.returns: list[State] = []
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

    # ------------------------------------------------------------------ driver

    def run(self, lines: list[str] | None = None) -> None:
        """All runs. With ``lines`` (the file's text), functions that cannot hold a
        finding and call nothing that can are skipped (their text has no mode call,
        grad context, training step, export, load or evaluation name)."""
        self.lines = lines
        if lines is not None:
            self.budget = max(self.budget, 40 * len(lines))
        self.run_summaries()
        self._run_module()
        needed = self._needed(lines) if lines is not None else None
        for fn in self._top_down(self.facts.functions):
            if needed is None or id(fn.node) in needed:
                self._run_function(fn, main=True)

    def _needed(self, lines: list[str]) -> set[int] | None:
        facts = self.facts
        if self.eval_loader_patterns or self.eval_func_patterns:
            return None
        if facts.loaded_keys and not facts.any_step:
            return None  # an inference script: any function may forward a loaded model
        needed: set[int] = set()
        callers: dict[int, list[FuncInfo]] = {}
        for fn in facts.functions:
            for name in fn.calls:
                callee = self._static_callee(fn, name)
                if callee is not None:
                    callers.setdefault(id(callee.node), []).append(fn)
            if self._interesting(fn, lines):
                needed.add(id(fn.node))
        # __init__ gives the other methods their self.* modes
        for fn in facts.functions:
            if id(fn.node) in needed and fn.class_name in facts.classes:
                init = facts.classes[fn.class_name].methods.get("__init__")
                if init is not None:
                    needed.add(id(init))
        todo = list(needed)
        while todo:
            for caller in callers.get(todo.pop(), ()):
                if id(caller.node) not in needed:
                    needed.add(id(caller.node))
                    todo.append(id(caller.node))
        return needed

    def _interesting(self, fn: FuncInfo, lines: list[str]) -> bool:
        if fn.mode_calls or fn.grad_ctx or fn.direct_step or fn.direct_backward or \
                fn.node.decorator_list or is_eval_function_name(fn.name):
            return True
        node = fn.node
        text = "".join(lines[node.lineno - 1:node.end_lineno or node.lineno])
        if RELEVANT_TEXT.search(text):
            return True
        if self.external is not None:
            for name in fn.calls:
                head = name.split(".", 1)[0]
                if head in self.imports.names and self._static_callee(fn, name) is None:
                    base = self.imports.names[head]
                    qual = base + name[len(head):]
                    if self.external(self._full_qual(qual)) is not None:
                        return True
        return False

    def run_summaries(self) -> None:
        """Summary runs only (bottom-up): what the project index keeps of a file."""
        funcs = self.facts.functions
        for fn in funcs:
            self._reaches_step(fn)
        for fn in self._bottom_up(funcs):
            if self._needs_summary(fn):
                self._summary(fn)

    def exported_summaries(self) -> dict[str, Summary]:
        """Summaries of top-level functions and methods, keyed ``name`` / ``Class.name``,
        without AST references (they travel to worker processes)."""
        out: dict[str, Summary] = {}
        for fn in self.facts.functions:
            if fn.parent is not None:
                continue
            summary = self.summaries.get(id(fn.node))
            if summary is None and fn.class_name is None and returns_value(fn.node):
                summary = self._summary(fn)   # a factory: the classes it may return
            if summary is None:
                summary = Summary(reaches_step=self._reaches_step(fn), params=fn.params,
                                  name=fn.name, line=fn.node.lineno - 1)
            if summary.returns is None and fn.class_name is None and \
                    returns_grad_off(fn.node, self.imports):
                summary = replace(summary, returns=GradCtx(frozenset({GRAD_OFF})))
            out[fn.qualname] = strip_nodes(summary)
        return out

    def _reaches_step(self, fn: FuncInfo, seen: set[int] | None = None) -> bool:
        key = id(fn.node)
        if key in self._reach:
            return self._reach[key]
        seen = seen if seen is not None else set()
        if key in seen:
            return False
        seen.add(key)
        result = fn.direct_step or (fn.direct_backward and not fn.gradient_use)
        if not result:
            for name in fn.calls:
                callee = self._static_callee(fn, name)
                if callee is not None and self._reaches_step(callee, seen):
                    result = True
                    break
                if callee is None and self.external is not None and "." not in name:
                    qual = self.imports.names.get(name)
                    summary = self.external(qual) if qual else None
                    if summary is not None and summary.reaches_step:
                        result = True
                        break
        self._reach[key] = result
        return result

    def _static_callee(self, caller: FuncInfo | None, name: str) -> FuncInfo | None:
        """The function of this file a call of ``name`` in ``caller`` runs, if we see it.
        A pure function of the facts: memoised (asked for every call at every stage)."""
        memo_key = (id(caller.node) if caller is not None else 0, name)
        memo = self._callee_memo
        if memo_key in memo:
            return memo[memo_key]
        found = memo[memo_key] = self._find_static_callee(caller, name)
        return found

    def _find_static_callee(self, caller: FuncInfo | None, name: str) -> FuncInfo | None:
        if caller is not None:
            nested = self.nested.get((id(caller.node), name))
            if nested is not None:
                return nested
            if name.startswith("self.") and name.count(".") == 1:
                cls = self._class_of(caller)
                if cls is not None:
                    info = self.facts.classes.get(cls)
                    if info is not None:
                        node = info.methods.get(name[5:])
                        if node is not None:
                            return self.facts.by_node.get(id(node))
        if "." not in name:
            fn = self.facts.module_funcs.get(name)
            if fn is not None:
                return fn
            cls_info = self.facts.classes.get(name)
            if cls_info is not None:
                init = cls_info.methods.get("__init__")
                if init is not None:
                    return self.facts.by_node.get(id(init))
        return None

    _RUN_FIELDS = ("fn", "ctx", "main", "state", "loops", "returns", "return_values", "stmts",
                   "entry", "guards", "yield_states", "guard_used")

    def _is_contextmanager(self, fn: FuncInfo) -> bool:
        for dec in fn.node.decorator_list:
            name = dotted(dec) or ""
            if name.endswith("contextmanager"):
                return True
        return False

    def _summary(self, fn: FuncInfo) -> Summary:
        """The function's summary, computed on first use (callee before caller)."""
        key = id(fn.node)
        found = self.summaries.get(key)
        if found is not None:
            return found
        default = Summary(reaches_step=self._reaches_step(fn), params=fn.params, name=fn.name,
                          line=fn.node.lineno - 1)
        if key in self._in_progress or len(self._in_progress) > 40 or self._trivial(fn):
            if key not in self._in_progress:
                self.summaries[key] = default
            return default
        saved = tuple(getattr(self, name) for name in self._RUN_FIELDS)
        self._in_progress.add(key)
        try:
            self._run_function(fn, main=False)
        finally:
            self._in_progress.discard(key)
            for name, value in zip(self._RUN_FIELDS, saved, strict=True):
                setattr(self, name, value)
        return self.summaries.get(key, default)

    def _trivial(self, fn: FuncInfo) -> bool:
        """No mode call, grad context, module construction or call we could follow."""
        if fn.mode_calls or fn.grad_ctx:
            return False
        for name in fn.calls:
            if self._static_callee(fn, name) is not None:
                return False
            qual = self.imports.qual(ast.Name(id=name)) if "." not in name else None
            if qual is None:
                head, _, rest = name.partition(".")
                base = self.imports.names.get(head)
                qual = f"{base}.{rest}" if base else name
            last = qual.rsplit(".", 1)[-1]
            if qual.startswith(("torch.nn.", "torchvision.models", "timm.", "torch.hub.",
                                "torch.load", "torch.jit.load", "copy.deepcopy")) or \
                    last == "from_pretrained" or (last[:1].isupper() and "." not in name):
                return False
            if self.external is not None and "." not in name and name in self.imports.names \
                    and self.external(self.imports.names[name]) is not None:
                return False
        return True

    def _class_of(self, fn: FuncInfo) -> str | None:
        while fn.parent is not None:
            fn = fn.parent
        return fn.class_name

    def _needs_summary(self, fn: FuncInfo) -> bool:
        if fn.mode_calls or fn.grad_ctx:
            return True
        for name in fn.calls:
            callee = self._static_callee(fn, name)
            if callee is not None and id(callee.node) in self.summaries and \
                    self.summaries[id(callee.node)].effects:
                return True
            if callee is None and self.external is not None and "." not in name:
                qual = self.imports.names.get(name)
                if qual and self.external(qual) is not None:
                    return True
        return False

    def _bottom_up(self, funcs: list[FuncInfo]) -> list[FuncInfo]:
        order: list[FuncInfo] = []
        state: dict[int, int] = {}
        for root in funcs:
            if id(root.node) in state:
                continue
            stack: list[tuple[FuncInfo, Iterable[str]]] = [(root, iter(sorted(root.calls)))]
            state[id(root.node)] = 1
            while stack:
                fn, it = stack[-1]
                advanced = False
                for name in it:
                    callee = self._static_callee(fn, name)
                    if callee is not None and id(callee.node) not in state:
                        state[id(callee.node)] = 1
                        stack.append((callee, iter(sorted(callee.calls))))
                        advanced = True
                        break
                if not advanced:
                    stack.pop()
                    state[id(fn.node)] = 2
                    order.append(fn)
        return order

    def _top_down(self, funcs: list[FuncInfo]) -> list[FuncInfo]:
        order = list(reversed(self._bottom_up(funcs)))
        # methods with no caller take their self.* state from __init__: run __init__ first
        inits = [f for f in order if f.name == "__init__"]
        rest = [f for f in order if f.name != "__init__"]
        return inits + rest

    # ------------------------------------------------------------------ runs

    def _begin(self, fn: FuncInfo | None, main: bool, grad: frozenset[str],
               lgrad: frozenset[str]) -> None:
        self.fn = fn
        self.main = main
        self.state = State({}, {}, grad, lgrad, {})
        self.loops = []
        self.returns = []
        self.return_values = []
        self.stmts = []
        self.entry = {}
        self.guards = []
        self.yield_states = []
        self.guard_used = False

    def _run_module(self) -> None:
        self._begin(None, True, frozenset({GRAD_ON}), frozenset({GRAD_ON}))
        self.ctx = FuncCtx("<module>", self.tree, None, False, self.facts.module_gradient_use,
                           self.is_test_file, False, False,
                           self.facts.module_step or self.facts.module_backward)
        self._block_safe(self.tree.body)

    def _func_ctx(self, fn: FuncInfo) -> FuncCtx:
        cls = self._class_of(fn)
        is_module_class = cls is not None and (
            self.resolver.is_module_class(cls) or "forward" in self.facts.classes[cls].methods
            if cls in self.facts.classes else False)
        name = fn.name
        is_pytest = (self.is_test_file and name.startswith("test")) or (
            name.startswith("test_") and self._looks_like_pytest(fn))
        is_hook = bool(HOOK_RE.match(name)) and (cls is not None or name.endswith("_step"))
        # a VAE's decode(self, z) or a model's generate() is part of the model (RULES §2)
        eval_named = is_eval_function_name(name, self.eval_func_patterns) and not is_pytest \
            and not (is_module_class and fn.class_name is not None)
        return FuncCtx(name, fn.node, cls, is_module_class, fn.gradient_use, is_pytest, is_hook,
                       eval_named, self._reaches_step(fn), self._grad_decorator(fn) == GRAD_OFF)

    def _looks_like_pytest(self, fn: FuncInfo) -> bool:
        for dec in fn.node.decorator_list:
            name = dotted(dec.func if isinstance(dec, ast.Call) else dec) or ""
            if name.startswith("pytest."):
                return True
        return False

    def method_grad_off(self, cls: str | None, method: str) -> bool:
        """``cls.method`` of this file is decorated to run without grad (``@torch.no_grad()``
        on a ``forward``, YOLOv5's ``@smart_inference_mode()``): calls record no graph."""
        info = self.facts.classes.get(cls) if cls else None
        if info is None and cls:
            return self._other_file_grad_off(cls, method)
        node = info.methods.get(method) if info is not None else None
        fn = self.facts.by_node.get(id(node)) if node is not None else None
        return fn is not None and self._grad_decorator(fn) == GRAD_OFF

    def may_run_grad_off(self, ev: ForwardEvent, method: str) -> bool:
        """Does the called method of some class the model may have disable grad itself?
        (``model = _create(...)`` may be an ``AutoShape``, whose forward runs under
        ``@smart_inference_mode()``; TM002 then has a path with no graph, as with grad
        states merged over branches.)"""
        classes = (ev.class_name, *self.maybe_classes.get((id(ev.func.node), ev.canonical), ()))
        return any(cls and self.method_grad_off(cls, method) for cls in classes)

    def _other_file_grad_off(self, cls: str, method: str) -> bool:
        """``cls.method`` of another analysed file decorated with a no-grad decorator,
        torch's own or a project factory that returns one (resolved through the project)."""
        summary = self.resolver.find(cls)
        if summary is None:
            return False
        for qual in summary.method_decorators.get(method, ()):
            if qual in GRAD_OFF_CTX:
                return True
            found = self.external(qual) if self.external is not None and "." in qual else None
            if found is not None and isinstance(found.returns, GradCtx) and \
                    found.returns.values == frozenset({GRAD_OFF}):
                return True
        return False

    def _return_classes(self, fn: FuncInfo) -> tuple[str, ...]:
        """Every class a model returned by ``fn`` may be built from."""
        found: set[str] = set()
        key = id(fn.node)
        for value in self.return_values:
            if isinstance(value, New) and value.cls:
                found.add(value.cls)
            elif isinstance(value, Ent):
                found |= self.assigned_classes.get((key, value.key.split(".", 1)[0]), set())
                found.update(self.maybe_classes.get((key, value.canonical), ()))
        return tuple(sorted(found))

    def _note_factory_classes(self, stmt: ast.Assign) -> None:
        """``model = _create(...)``: the classes the factory's result may have;
        ``model = AutoShape(model)``: a class this name may hold (by its qualified name,
        resolved or not: the file's summary is made without the other files)."""
        if self.ctx is None or self.state is None:
            return
        scope = id(self.ctx.node)
        assert isinstance(stmt.value, ast.Call)
        qual = self._qual(stmt.value.func) or ""
        built = qual if qual.rsplit(".", 1)[-1][:1].isupper() else None
        classes = self._call_classes.get(id(stmt.value))
        for target in stmt.targets:
            key = self._ekey(target)
            if key is None:
                continue
            if built is not None and isinstance(target, ast.Name):
                self.assigned_classes.setdefault((scope, key), set()).add(built)
            if classes:
                self.maybe_classes[(scope, self._canonical(key))] = classes

    def _grad_decorator(self, fn: FuncInfo) -> str | None:
        for dec in fn.node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            qual = self.imports.qual(target)
            if not qual:
                continue
            if qual in GRAD_OFF_CTX:
                return GRAD_OFF
            if qual in GRAD_ON_CTX:
                return GRAD_ON
            if qual in SET_GRAD and isinstance(dec, ast.Call):
                return grad_of_flag(dec)
            if isinstance(dec, ast.Call) and self._project_grad_off(target, qual):
                return GRAD_OFF
        return None

    def _project_grad_off(self, target: ast.expr, qual: str) -> bool:
        """``@smart_inference_mode()``: a decorator factory of the analysed files that
        returns ``torch.inference_mode()`` / ``torch.no_grad()`` (decorators.py)."""
        local = self.facts.module_funcs.get(qual) if isinstance(target, ast.Name) else None
        if local is not None:
            return returns_grad_off(local.node, self.imports)
        if self.external is None or "." not in qual:
            return False
        summary = self.external(self._full_qual(qual))
        return summary is not None and isinstance(summary.returns, GradCtx) and \
            summary.returns.values == frozenset({GRAD_OFF})

    def _run_function(self, fn: FuncInfo, main: bool) -> None:
        dec = self._grad_decorator(fn)
        if main:
            record = self._record(fn)
            if dec is not None:
                grad = frozenset({dec})
            elif record is not None and record.grad and not self._unknown_callers(fn):
                grad = frozenset(record.grad)
            else:
                grad = frozenset({GRAD_UNK})
        else:
            grad = frozenset({dec or GRAD_UNK})
        lgrad = frozenset({dec}) if dec in (GRAD_OFF, GRAD_ON) else frozenset({GRAD_ON})
        self._begin(fn, main, grad, lgrad)
        self.ctx = self._func_ctx(fn)
        self._block_safe(fn.node.body)
        exits = [s for s in (*self.returns, self.state) if s is not None]
        if not exits:
            if not main:
                self.summaries[id(fn.node)] = Summary(
                    reaches_step=self._reaches_step(fn), params=fn.params, name=fn.name,
                    line=fn.node.lineno - 1)
            return
        final = exits[0]
        for other in exits[1:]:
            final = self._join(final, other)
        if not main:
            self._make_summary(fn, final)
        elif fn.name == "__init__" and fn.class_name is not None:
            self.init_state[fn.class_name] = {
                k: self._lookup(final, resolve_alias(final.alias, k)) or frozenset()
                for k in self_keys(final)}
            for k in self_keys(final):
                cls = self.classes_of.get(resolve_alias(final.alias, k))
                if cls:
                    self.init_classes.setdefault(fn.class_name, {})[k] = cls

    def _block_safe(self, body: list[ast.stmt]) -> None:
        try:
            self._block(body)
        except Budget:
            self.stopped_early.add(("statement budget reached", self._where()))
            self.state = None

    def _where(self) -> str:
        return f"{self.fn.qualname}()" if self.fn is not None else "<module>"

    def _effects(self, fn: FuncInfo, state: State, keep: Iterable[str] = ()) -> dict[str, Modes]:
        effects: dict[str, Modes] = {}
        for canonical, modes in state.modes.items():
            if "@" in canonical:
                continue
            root = canonical.split(".", 1)[0]
            if root in fn.locals:
                continue
            if modes != ENTRY_MODES:
                effects[canonical] = modes
        for canonical in keep:
            if canonical not in effects:
                effects[canonical] = self._lookup(state, canonical) or ENTRY_MODES
        return effects

    def _make_summary(self, fn: FuncInfo, final: State) -> None:
        enter: dict[str, Modes] | None = None
        if self.yield_states and self._is_contextmanager(fn):
            at_yield = self._join_all(self.yield_states)
            if at_yield is not None:
                enter = self._effects(fn, at_yield)
        effects = self._effects(fn, final, enter or ())
        returns: Value = None
        if self.return_values and all(isinstance(v, New) for v in self.return_values):
            merged: set[Mode] = set()
            for v in self.return_values:
                assert isinstance(v, New)
                merged |= v.modes
            first = self.return_values[0]
            assert isinstance(first, New)
            returns = New(frozenset(merged), first.cls, first.loaded)
        elif self.return_values and all(isinstance(v, Ent) for v in self.return_values):
            first_ent = self.return_values[0]
            assert isinstance(first_ent, Ent)
            if all(v == first_ent for v in self.return_values) and \
                    first_ent.canonical.split(".")[0] in fn.params:
                returns = first_ent
        self.summaries[id(fn.node)] = Summary(effects, self._reaches_step(fn), returns, fn.params,
                                              fn.name, fn.node.lineno - 1, enter,
                                              self._return_classes(fn))
        cls = self._class_of(fn)
        if cls is not None and fn.name != "__init__":
            self.class_mutated.setdefault(cls, set()).update(
                k for k in effects if k.startswith("self."))

    def _record(self, fn: FuncInfo) -> CallRecord | None:
        """What the visible callers pass: this file's calls, and for a top-level function
        the calls from the other analysed files (through the project index)."""
        key = id(fn.node)
        if key in self._merged_records:
            return self._merged_records[key]
        local = self.records.get(key)
        external = None
        if self.callers is not None and self._wants_callers(fn):
            try:
                external = self.callers(fn.qualname)
            except RecursionError:
                external = None
        if external is None:
            merged = local
        elif local is None:
            merged = external
        else:
            merged = CallRecord({k: set(v) for k, v in local.modes.items()},
                                dict(local.classes), set(local.grad), local.count)
            for k, v in external.modes.items():
                merged.modes.setdefault(k, set()).update(v)
            merged.classes.update(external.classes)
            merged.grad |= external.grad
            merged.count += external.count
        self._merged_records[key] = merged
        return merged

    def caller_wanting_functions(self, lines: list[str],
                                 eval_func_patterns: tuple[str, ...]) -> frozenset[str]:
        """The top-level functions whose analysis asks the other files what they pass:
        what the project solver computes call records for (same test as ``_record``)."""
        self.lines, self.eval_func_patterns = lines, eval_func_patterns
        return frozenset(fn.qualname for fn in self.facts.functions if self._wants_callers(fn))

    def _wants_callers(self, fn: FuncInfo) -> bool:
        return fn.parent is None and fn.class_name is None and self._module_params(fn) and \
            self._worth_callers(fn)

    def _module_params(self, fn: FuncInfo) -> bool:
        """Does any parameter look like a module here (called, switched, or so named)?
        Only then is it worth asking the other files what they pass."""
        for param in fn.params:
            if param in ("self", "cls"):
                continue
            if param in self.facts.module_used or looks_like_model_name(param):
                return True
            if param in fn.calls or any(f"{param}.{m}" in fn.calls for m in (
                    "eval", "train", "forward", "generate", "module", "parameters")):
                return True
        return False

    def _worth_callers(self, fn: FuncInfo) -> bool:
        """Only a function that could hold a finding about its parameter: an evaluation
        region, a grad context, a mode call, a training step or an export."""
        if is_eval_function_name(fn.name, self.eval_func_patterns) or fn.grad_ctx or \
                fn.mode_calls or fn.direct_step or fn.direct_backward:
            return True
        if any(c.endswith(("trace", "export")) for c in fn.calls):
            return True
        if self.lines is None:
            return True
        node = fn.node
        text = "".join(self.lines[node.lineno - 1:node.end_lineno or node.lineno])
        return bool(EVAL_LOOP_TEXT.search(text))

    def _unknown_callers(self, fn: FuncInfo) -> bool:
        """Could ``fn`` be called from somewhere we do not see? (Memoised: a function of
        the file's facts only.)"""
        found = self._unknown_memo.get(id(fn.node))
        if found is None:
            found = self._unknown_memo[id(fn.node)] = self._find_unknown_callers(fn)
        return found

    def _find_unknown_callers(self, fn: FuncInfo) -> bool:
        name = fn.name
        if fn.class_name is not None:
            return f"self.{name}" in self.facts.value_refs
        if name in self.facts.value_refs:
            return True
        for dec in fn.node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            qual = self.imports.qual(target) or ""
            if not (qual in GRAD_OFF_CTX or qual in GRAD_ON_CTX or qual in SET_GRAD):
                return True
        return False

    # ------------------------------------------------------------------ lookup

    def _initial(self, canonical: str) -> Modes | None:
        """Mode of a name never assigned in this run: from callers, __init__, or ENTRY."""
        if "@" in canonical:
            return None
        if canonical in self.entry:
            return self.entry[canonical]
        fn = self.fn
        root = canonical.split(".", 1)[0]
        result: Modes | None = None
        if fn is None:
            result = None
        elif not self.main:
            if root not in fn.locals:
                result = ENTRY_MODES
        elif root not in fn.locals:
            record = self._record(fn)
            unknown_callers = self._unknown_callers(fn)
            found: set[Mode] | None = None
            if record is not None:
                found = record_lookup(record.modes, canonical)
            cls = self._class_of(fn)
            if found is None and root == "self" and cls is not None and fn.name != "__init__":
                init = self.init_state.get(cls, {})
                if not self._touches_mutated(cls, canonical):
                    init_modes = record_lookup(init, canonical)
                    if init_modes:
                        found = init_modes
                if found is None and canonical != "self" and (canonical in init or any(
                        k.startswith(canonical + ".") for k in init)):
                    found = {UNKNOWN_PARAM}
            if found is not None:
                result = frozenset(found | ({UNKNOWN_PARAM} if unknown_callers else set()))
            elif root in fn.params and record is None:
                result = None  # decided by entity checks (static use) -> unknown
        self.entry[canonical] = result if result is not None else frozenset()
        return result

    def _touches_mutated(self, cls: str, canonical: str) -> bool:
        """Is ``canonical``, a dotted prefix of it, or a key under it among the ``self.*``
        keys other methods of ``cls`` change? (``class_mutated`` only grows, so its size
        tells whether the index of its keys and their dotted prefixes is current.)"""
        mutated = self.class_mutated.get(cls)
        if not mutated:
            return False
        index = self._mutated_index.get(cls)
        if index is None or index[0] != len(mutated):
            keys = set(mutated)
            below: set[str] = set()
            for m in mutated:
                below.update(prefix for prefix, _ in key_splits(m))
            index = self._mutated_index[cls] = (len(mutated), keys, below)
        _, keys, below = index
        if canonical in keys or canonical in below:
            return True
        return any(prefix in keys for prefix, _ in key_splits(canonical))

    def _lookup(self, state: State, canonical: str) -> Modes | None:
        modes = state.modes.get(canonical)
        if modes is not None:
            return modes
        splits = key_splits(canonical) if "." in canonical else ()
        for prefix, _ in splits:
            found = state.modes.get(prefix)
            if found is not None:
                return found
        entry = self.entry   # _initial's memo (a key with "@" is never in it)
        initial = entry[canonical] if canonical in entry else self._initial(canonical)
        if initial:
            return initial
        for prefix, _ in splits:
            initial = entry[prefix] if prefix in entry else self._initial(prefix)
            if initial:
                return initial
        return None

    def _join(self, a: State | None, b: State | None) -> State:
        if a is None:
            assert b is not None
            return b.copy()
        if b is None:
            return a.copy()
        if a.modes is b.modes and a.alias is b.alias and a.saved is b.saved:
            twin = a.copy()
            twin.grad, twin.lgrad = a.grad | b.grad, a.lgrad | b.lgrad
            return twin
        modes: dict[str, Modes] = {}
        alias: dict[str, str] = {}
        for key in a.alias.keys() | b.alias.keys():
            ca, cb = a.alias.get(key), b.alias.get(key)
            if ca == cb and ca is not None:
                alias[key] = ca
            else:
                ma = self._lookup(a, resolve_alias(a.alias, key)) or frozenset()
                mb = self._lookup(b, resolve_alias(b.alias, key)) or frozenset()
                alias[key] = f"{key}@join"
                modes[f"{key}@join"] = ma | mb
        for key in a.modes.keys() | b.modes.keys():
            if key in modes:
                continue
            got_a = a.modes.get(key)
            got_b = b.modes.get(key)
            ma = got_a if got_a is not None else (self._lookup(a, key) or frozenset())
            mb = got_b if got_b is not None else (self._lookup(b, key) or frozenset())
            modes[key] = ma | mb
        saved = {k: v for k, v in a.saved.items() if b.saved.get(k) == v}
        return State(modes, alias, a.grad | b.grad, a.lgrad | b.lgrad, saved)

    def _join_all(self, states: Iterable[State | None]) -> State | None:
        result: State | None = None
        for s in states:
            if s is None:
                continue
            result = s.copy() if result is None else self._join(result, s)
        return result

    # ------------------------------------------------------------------ statements

    def _block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if self.state is None:
                return
            self.budget -= 1
            if self.budget < 0:
                raise Budget
            self.stmts.append(stmt)
            try:
                self._stmt(stmt)
            finally:
                self.stmts.pop()

    def _stmt(self, stmt: ast.stmt) -> None:
        tp = type(stmt)
        if tp is ast.Expr:
            assert isinstance(stmt, ast.Expr)
            self._expr_stmt(stmt)
        elif tp is ast.Assign:
            assert isinstance(stmt, ast.Assign)
            value = self._expr(stmt.value)
            for target in stmt.targets:
                self._assign(target, value, stmt)
            if isinstance(stmt.value, ast.Call):
                self._note_factory_classes(stmt)
                if self.main:
                    self._note_trainer(stmt)
        elif tp is ast.AnnAssign:
            assert isinstance(stmt, ast.AnnAssign)
            if stmt.value is not None:
                self._assign(stmt.target, self._expr(stmt.value), stmt)
        elif tp is ast.AugAssign:
            assert isinstance(stmt, ast.AugAssign)
            self._expr(stmt.value)
        elif tp is ast.If:
            assert isinstance(stmt, ast.If)
            self._if(stmt)
        elif tp is ast.For or tp is ast.AsyncFor or tp is ast.While:
            self._loop(stmt)  # type: ignore[arg-type]
        elif tp is ast.With or tp is ast.AsyncWith:
            assert isinstance(stmt, (ast.With, ast.AsyncWith))
            self._with(stmt)
        elif tp is ast.Try or tp.__name__ == "TryStar":
            self._try(stmt)  # type: ignore[arg-type]
        elif tp is ast.Return:
            assert isinstance(stmt, ast.Return)
            value = self._expr(stmt.value) if stmt.value is not None else None
            self.return_values.append(value)
            if self.state is not None:
                self.returns.append(self.state)
            self.state = None
        elif tp is ast.Raise:
            assert isinstance(stmt, ast.Raise)
            if stmt.exc is not None:
                self._expr(stmt.exc)
            self.state = None
        elif tp is ast.Break:
            if self.loops and self.state is not None:
                self.loops[-1].breaks.append(self.state)
            self.state = None
        elif tp is ast.Continue:
            if self.loops and self.state is not None:
                self.loops[-1].continues.append(self.state)
            self.state = None
        elif tp is ast.FunctionDef or tp is ast.AsyncFunctionDef or tp is ast.ClassDef:
            return  # analysed on their own
        elif tp is ast.Match:
            assert isinstance(stmt, ast.Match)
            self._expr(stmt.subject)
            self._branches([case.body for case in stmt.cases], fallthrough=True)
        elif tp is ast.Assert:
            assert isinstance(stmt, ast.Assert)
            self._expr(stmt.test)
        elif tp is ast.Delete or tp in (ast.Import, ast.ImportFrom, ast.Pass, ast.Global,
                                         ast.Nonlocal):
            return
        else:
            for child in child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self._expr(child)

    def _expr_stmt(self, stmt: ast.Expr) -> None:
        value = stmt.value
        if isinstance(value, ast.Attribute) and value.attr in ("eval", "train"):
            key = self._ekey(value.value)
            if key is not None:
                # TM004: bare m.eval / m.train; track the intended mode
                if self.main:
                    self.misuses[id(value)] = MisuseEvent(MisuseKind.MODE_NOT_CALLED, value,
                                                          stmt, key, value.attr)
                canonical = self._canonical(key)
                self._set_mode(canonical, EVAL if value.attr == "eval" else TRAIN, stmt,
                               f"{key}.{value.attr}", flagged=True)
                return
        self._expr(value)

    def _if(self, stmt: ast.If) -> None:
        self._expr(stmt.test)
        if self.state is None:
            return
        const = const_truth(stmt.test)
        before = self.state
        test = stmt.test
        test_id = id(test)
        if test_id in self._guard_cache:
            names = self._guard_cache[test_id]
        else:
            names = self._guard_cache[test_id] = guard_names(test)
        if names is not None:
            self.guard_vars |= names
        results: list[State | None] = []
        if const is not False:
            self.state = before.copy()
            self.guards.append((test, True, names) if names is not None else None)
            try:
                self._block(stmt.body)
            finally:
                self.guards.pop()
            results.append(self.state)
        if const is not True:
            self.state = before.copy()
            self.guards.append((test, False, names) if names is not None else None)
            not_module = self._isinstance_module(test)
            if not_module:
                self.not_modules.append(not_module)
            try:
                self._block(stmt.orelse)
            finally:
                self.guards.pop()
                if not_module:
                    self.not_modules.pop()
            results.append(self.state)
        if names is not None and len(results) == 2:
            self._tag_branches(test, names, results[0], results[1])
            self._tag_not_module(test, names, results[1])
        self.state = self._join_all(results)

    def _isinstance_module(self, test: ast.expr) -> str | None:
        """``isinstance(net, nn.Module)``: the name that is not a module in the else branch."""
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and \
                test.func.id == "isinstance" and len(test.args) == 2 and \
                isinstance(test.args[0], ast.Name) and \
                self._qual(test.args[1]) in ("torch.nn.Module", "torch.nn.modules.module.Module"):
            return test.args[0].id
        return None

    def _tag_not_module(self, test: ast.expr, names: frozenset[str], skipped: State | None
                        ) -> None:
        """After ``if isinstance(net, nn.Module): ... return``, the code that follows is
        the else: ``net`` there is not a module (its modes carry the False guard)."""
        name = self._isinstance_module(test)
        if name is None or skipped is None:
            return
        text = self._guard_text(test)
        self.not_module_tests.add(text)
        canonical = self._canonical(name)
        modes = self._lookup(skipped, canonical)
        kept = [m for m in modes or () if m.guard is None or m.guard[0] != text or not m.guard[1]]
        if kept:  # on this path the test was false: modes set under it being true are gone
            skipped.set(canonical, frozenset(
                replace(m, guard=(text, False, names)) if m.guard is None else m for m in kept))
            self.guard_used = True

    def _tag_branches(self, test: ast.expr, names: frozenset[str], taken: State | None,
                      skipped: State | None) -> None:
        """Correlated branches (RULES §2): a mode that differs between the two branches of
        ``if enc is not None: enc.eval()`` is marked with the branch it came from, so a
        later test of the same condition keeps only the modes of its own branch."""
        if taken is None or skipped is None:
            return
        text = self._guard_text(test)
        for canonical in set(taken.modes) | set(skipped.modes):
            if "@" in canonical:
                continue
            a = self._lookup(taken, canonical) or frozenset()
            b = self._lookup(skipped, canonical) or frozenset()
            if a == b:
                continue
            for state, modes, truth in ((taken, a, True), (skipped, b, False)):
                if modes and any(m.guard is None for m in modes):
                    state.set(canonical, frozenset(
                        replace(m, guard=(text, truth, names)) if m.guard is None else m
                        for m in modes))
                    self.guard_used = True

    def _branches(self, bodies: list[list[ast.stmt]], fallthrough: bool) -> None:
        if self.state is None:
            return
        before = self.state
        results: list[State | None] = [before] if fallthrough else []
        for body in bodies:
            self.state = before.copy()
            self._block(body)
            results.append(self.state)
        self.state = self._join_all(results)

    def _loop(self, stmt: ast.For | ast.AsyncFor | ast.While) -> None:
        is_for = not isinstance(stmt, ast.While)
        if is_for:
            assert isinstance(stmt, (ast.For, ast.AsyncFor))
            self._expr(stmt.iter)
            if self.main and is_eval_loader_name(iter_name(stmt.iter), self.eval_loader_patterns):
                self.eval_loops.add(id(stmt))
        if self.state is None:
            return
        if is_for and self._unroll(stmt):  # type: ignore[arg-type]
            return
        head = self.state.copy()
        ctx = LoopCtx()
        self.loops.append(ctx)
        try:
            for iteration in range(MAX_LOOP_ITERATIONS):
                self.state = head.copy()
                if is_for:
                    assert isinstance(stmt, (ast.For, ast.AsyncFor))
                    self._assign(stmt.target, None, stmt)
                else:
                    assert isinstance(stmt, ast.While)
                    self._expr(stmt.test)
                self._block(stmt.body)
                end = self._join_all([self.state, *ctx.continues])
                if end is None:
                    break
                new_head = self._join(head, end)
                if new_head.same(head):
                    break
                head = new_head
                if iteration == MAX_LOOP_ITERATIONS - 1:
                    self.stopped_early.add(("loop iteration cap reached",
                                            f"loop at line {stmt.lineno} in {self._where()}"))
        finally:
            self.loops.pop()
        infinite = isinstance(stmt, ast.While) and const_truth(stmt.test) is True
        self.state = None if infinite else head
        if self.state is not None and stmt.orelse:
            self._block(stmt.orelse)
        self.state = self._join_all([self.state, *ctx.breaks])

    def _unroll(self, stmt: ast.For | ast.AsyncFor) -> bool:
        """``for net in (netG, netD): net.eval()``: a literal tuple of models is run once
        per element, so each of them is switched for sure."""
        it = stmt.iter
        if not isinstance(it, (ast.Tuple, ast.List)) or not 0 < len(it.elts) <= 8 or \
                stmt.orelse or not isinstance(stmt.target, ast.Name):
            return False
        keys = [entity_key(e) for e in it.elts]
        if any(k is None for k in keys):
            return False
        values = [self._name_value(k, e) for k, e in zip(keys, it.elts, strict=True)
                  if k is not None]
        if not all(isinstance(v, Ent) for v in values):
            return False
        ctx = LoopCtx()
        self.loops.append(ctx)
        try:
            for value in values:
                if self.state is None:
                    break
                self._assign(stmt.target, value, stmt)
                self._block(stmt.body)
                self.state = self._join_all([self.state, *ctx.continues])
                ctx.continues.clear()
        finally:
            self.loops.pop()
        self.state = self._join_all([self.state, *ctx.breaks])
        return True

    def _contextmanager_call(self, node: ast.expr) -> Callable[[], None] | None:
        """``with evaluating(model):`` of a local @contextmanager: apply the effect up to its
        ``yield`` now; return what restores at the end of the block."""
        if not isinstance(node, ast.Call):
            return None
        name = self._dotted(node.func)
        callee = self._static_callee(self.fn, name) if name else None
        if callee is None or not self._is_contextmanager(callee):
            return None
        args = self._args(node)
        summary = self._summary(callee)
        if summary.enter_effects is None or self.state is None:
            return None
        before = self.state.copy()
        params = callee.params[1:] if callee.class_name is not None else list(callee.params)
        enter = Summary(summary.enter_effects, False, None, summary.params, summary.name,
                        summary.line)
        self._apply_summary(node, enter, args, params)

        def finish() -> None:
            if self.state is None:
                return
            exit_summary = Summary(summary.effects, False, None, summary.params, summary.name,
                                   summary.line)
            self._apply_summary(node, exit_summary, args, params, entry_state=before)

        return finish

    def _with(self, stmt: ast.With | ast.AsyncWith) -> None:
        exits: list[Callable[[], None]] = []
        grad_values: frozenset[str] | None = None
        for item in stmt.items:
            ctx_expr = item.context_expr
            kind = self._grad_ctx(ctx_expr, stmt)
            if kind is not None:
                grad_values = frozenset({kind})
            else:
                cm = self._contextmanager_call(ctx_expr)
                if cm is not None:
                    exits.append(cm)
                    continue
                value = self._expr(ctx_expr)
                if isinstance(value, GradCtx):
                    grad_values = value.values
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, value, stmt)
        if self.state is None:
            return
        if grad_values is None:
            self._block(stmt.body)
            for exit_effect in reversed(exits):
                exit_effect()
            return
        if grad_values == {GRAD_OFF} and self.main:
            self.nograd_withs.add(id(stmt))
        saved_grad, saved_lgrad = self.state.grad, self.state.lgrad
        keep = KEEP in grad_values
        self.state.grad = (grad_values - {KEEP}) | (saved_grad if keep else frozenset())
        self.state.lgrad = (grad_values - {KEEP}) | (saved_lgrad if keep else frozenset())
        marks = [(len(c.breaks), len(c.continues)) for c in self.loops]
        self._block(stmt.body)
        for (nb, nc), loop in zip(marks, self.loops, strict=False):
            for s in (*loop.breaks[nb:], *loop.continues[nc:]):
                s.grad, s.lgrad = saved_grad, saved_lgrad
        if self.state is not None:
            self.state.grad, self.state.lgrad = saved_grad, saved_lgrad
        for exit_effect in reversed(exits):
            exit_effect()

    def _grad_ctx(self, node: ast.expr, stmt: ast.stmt) -> str | None:
        """Grad value a ``with`` item sets, or None if it is not a grad context."""
        if isinstance(node, ast.Call):
            qual = self._qual(node.func)
            if qual in GRAD_OFF_CTX:
                for arg in node.args:
                    self._expr(arg)
                if qual is not None and qual.endswith("inference_mode") and (
                        node.args or node.keywords):
                    # inference_mode(False) turns grad mode on (even inside no_grad)
                    flag = grad_of_flag(node)
                    return GRAD_ON if flag == GRAD_OFF else (GRAD_OFF if flag == GRAD_ON
                                                             else GRAD_DYN)
                return GRAD_OFF
            if qual in GRAD_ON_CTX:
                return GRAD_ON
            if qual in SET_GRAD:
                for arg in node.args:
                    self._expr(arg)
                return grad_of_flag(node)
            return None
        qual = self._qual(node)
        if qual in ("torch.no_grad", "torch.inference_mode", "torch.enable_grad"):
            if self.main:
                self.misuses[id(node)] = MisuseEvent(MisuseKind.CONTEXT_NOT_CALLED, node, stmt,
                                                     dotted(node) or "", qual.rsplit(".", 1)[-1])
            return GRAD_ON if qual == "torch.enable_grad" else GRAD_OFF
        return None

    def _try(self, stmt: ast.Try) -> None:
        if self.state is None:
            return
        loop_marks = [(len(c.breaks), len(c.continues)) for c in self.loops]
        n_returns = len(self.returns)
        seen: list[State] = [self.state.copy()]
        for sub in stmt.body:
            if self.state is None:
                break
            self._block([sub])
            if self.state is not None:
                seen.append(self.state.copy())
        body_end = self.state
        if stmt.orelse and body_end is not None:
            self._block(stmt.orelse)
            body_end = self.state
        handler_entry = self._join_all(seen)
        outs: list[State | None] = [body_end]
        for handler in stmt.handlers:
            self.state = handler_entry.copy() if handler_entry is not None else None
            if handler.type is not None and self.state is not None:
                self._expr(handler.type)
            self._block(handler.body)
            outs.append(self.state)
        normal = self._join_all(outs)
        if not stmt.finalbody:
            self.state = normal
            return
        # abrupt exits (return/break/continue) pass through ``finally`` too
        pending_returns = self.returns[n_returns:]
        del self.returns[n_returns:]
        if pending_returns:
            self.state = self._join_all(pending_returns)
            self._block(stmt.finalbody)
            if self.state is not None:
                self.returns.append(self.state)
        for (nb, nc), loop in zip(loop_marks, self.loops, strict=False):
            for lst, mark in ((loop.breaks, nb), (loop.continues, nc)):
                pending = lst[mark:]
                if pending:
                    del lst[mark:]
                    self.state = self._join_all(pending)
                    self._block(stmt.finalbody)
                    if self.state is not None:
                        lst.append(self.state)
        self.state = normal if normal is not None else (
            handler_entry.copy() if handler_entry is not None and not stmt.handlers else None)
        if self.state is not None:
            self._block(stmt.finalbody)

    # ------------------------------------------------------------------ assignment

    def _canonical(self, key: str) -> str:
        assert self.state is not None
        return resolve_alias(self.state.alias, key)

    def _assign(self, target: ast.expr, value: Value, stmt: ast.stmt) -> None:
        state = self.state
        if state is None:
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            items = value.items if isinstance(value, Tup) else ()
            for i, elt in enumerate(target.elts):
                sub = items[i] if i < len(items) and not isinstance(elt, ast.Starred) else None
                self._assign(elt.value if isinstance(elt, ast.Starred) else elt, sub, stmt)
            return
        if isinstance(target, ast.Attribute) and target.attr in ("training", "eval", "train"):
            key = self._ekey(target.value)
            if key == "self" and self.ctx is not None and self.ctx.name in (
                    "train", "eval", "__init__", "__setstate__", "requires_grad_"):
                return  # the implementation of train()/eval() itself
            value_node = getattr(stmt, "value", None)
            if isinstance(value_node, ast.Attribute) and value_node.attr == "training":
                return  # copying another module's flag onto a replacement layer
            root = key.split(".", 1)[0] if key else ""
            if any(isinstance(s, (ast.For, ast.AsyncFor)) and root in target_names(s.target)
                   for s in self.stmts):
                return  # restoring each module of model.modules() one by one
            if key is not None and "trainer" in key.rsplit(".", 1)[-1].lower():
                return  # Lightning/HF trainers keep their own `training` flag: not modules
            if key is not None and self._is_entity_key(key, assigning=True):
                if self.main:
                    self.misuses[id(target)] = MisuseEvent(
                        MisuseKind.FLAG_ASSIGNED if target.attr == "training" else
                        MisuseKind.MODE_METHOD_REPLACED, target, stmt, key, target.attr,
                        getattr(stmt, "value", None))
                if target.attr == "training":
                    truth = const_truth(getattr(stmt, "value", None))
                    kind = DYNAMIC if truth is None else (TRAIN if truth else EVAL)
                    self._set_mode(self._canonical(key), kind, stmt, f"{key}.training = ...",
                                   flagged=True, children=False)
            return
        if isinstance(target, ast.Subscript):
            self._expr(target.value)
            return
        if isinstance(target, ast.Starred):
            self._assign(target.value, None, stmt)
            return
        key = self._ekey(target)
        if key is None:
            return
        if isinstance(target, ast.Name) and target.id in self.guard_vars and (
                self.guards or (self.guard_used and self._guarded(state))):
            self._invalidate_guards(target.id)
        # a rebinding: drop the old alias and children of the name
        state.drop_alias(key)
        state.save(key, None)
        if isinstance(value, Ent):
            if value.canonical != key:
                state.set_alias(key, value.canonical)
        elif isinstance(value, New):
            canonical = f"{key}@{stmt.lineno}:{stmt.col_offset}"
            state.set_alias(key, canonical)
            if value.loaded:
                self.loaded_canon.add(canonical)
            state.set(canonical, value.modes)
            state.drop_children(canonical)
            if value.children:
                self.contains[canonical] = value.children
            if value.cls:
                self.classes_of[canonical] = value.cls
                if self.ctx is not None:
                    self.assigned_classes.setdefault((id(self.ctx.node), key), set()).add(
                        value.cls)
        elif isinstance(value, Flag) and isinstance(target, ast.Name):
            state.save(key, value)
        elif isinstance(value, GradCtx) and isinstance(target, ast.Name):
            state.save(key, value)
        else:
            if key in state.modes or self._is_static_entity(key):
                canonical = f"{key}@{stmt.lineno}:{stmt.col_offset}"
                state.set_alias(key, canonical)
                how = "assigned from a call we cannot see"
                state.set(canonical, frozenset({Mode(UNKNOWN, stmt.lineno - 1, 0, how)}))
        if isinstance(target, ast.Name) and isinstance(stmt, ast.Assign) and \
                isinstance(stmt.value, ast.Call) and self._is_spot_tensor(stmt.value):
            self.spot_names[(id(self.ctx.node) if self.ctx else 0, key)] = (
                self._loop_scope(), not self._is_spot_tensor(stmt.value, numpy=False))

    # ------------------------------------------------------------------ modes

    def _guarded(self, state: State) -> bool:
        return any(m.guard is not None for ms in state.modes.values() for m in ms)

    def _invalidate_guards(self, name: str) -> None:
        """``name`` changes: conditions reading it say nothing about later paths."""
        self.guards = [g if g is None or name not in g[2] else None for g in self.guards]
        state = self.state
        if state is None:
            return
        for canonical, modes in list(state.modes.items()):
            if any(m.guard is not None and name in m.guard[2] for m in modes):
                state.set(canonical, frozenset(
                    replace(m, guard=None) if m.guard is not None and name in m.guard[2] else m
                    for m in modes))

    def _guard_text(self, test: ast.expr) -> str:
        """The condition's source text: guards of the same text are the same condition."""
        found = self._guard_texts.get(id(test))
        if found is None:
            found = self._guard_texts[id(test)] = ast.unparse(test)
        return found

    def _feasible(self, modes: Iterable[Mode]) -> set[Mode]:
        """Drop modes set under the opposite branch of a condition we are inside of."""
        active = {(self._guard_text(g[0]), g[1]) for g in self.guards if g is not None}
        if not active:
            return set(modes)
        return {m for m in modes if m.guard is None or (m.guard[0], not m.guard[1]) not in active}

    def _set_mode(self, canonical: str, kind: str, node: ast.AST, how: str,
                  flagged: bool = False, children: bool = True,
                  param_flag: str | None = None, method_call: bool = False) -> None:
        state = self.state
        if state is None:
            return
        line = node.lineno - 1  # type: ignore[attr-defined]
        raw = self.guards[-1] if self.guards else None
        guard = None
        if raw is not None:
            guard = (self._guard_text(raw[0]), raw[1], raw[2])
            self.guard_used = True
        mode = Mode(kind, line, node.col_offset, how, flagged, node,  # type: ignore[attr-defined]
                    guard, "", param_flag, method_call)
        state.set(canonical, frozenset({mode}))
        if children:
            state.drop_children(canonical)
            todo = list(self.contains.get(canonical, ()))
            seen = {canonical}
            while todo:   # submodules passed to the constructor follow eval()/train()
                sub = todo.pop()
                if sub in seen:
                    continue
                seen.add(sub)
                state.set(sub, frozenset({mode}))
                todo.extend(self.contains.get(sub, ()))
        if self.main and kind in (EVAL, TRAIN) and not flagged:
            assert self.ctx is not None
            self.mode_sets[id(node)] = ModeSwitchEvent(kind, canonical, self.ctx,
                                                       tuple(self.stmts))

    def _is_static_entity(self, key: str) -> bool:
        return key in self.facts.module_used or key in self.facts.trained

    def _is_entity_key(self, key: str, assigning: bool = False) -> bool:
        state = self.state
        if state is None:
            return False
        canonical = self._canonical(key)
        found = state.modes.get(canonical) or self._lookup(state, canonical)
        if found and not all(m.kind == ENTRY for m in found):
            return True  # (ENTRY alone: any outside name in a summary run, not a module yet)
        if self._is_static_entity(key):
            return True
        if key == "self":
            return bool(self.ctx and self.ctx.is_module_class)
        if assigning and "trainer" not in key.lower() and looks_like_model_name(
                key.rsplit(".", 1)[-1]):
            return True
        return False

    def _entity_modes(self, key: str, forward: bool = False) -> tuple[str, Modes] | None:
        """(canonical, modes) if ``key`` names an entity here, else None."""
        state = self.state
        if state is None:
            return None
        canonical = self._canonical(key)
        modes = self._lookup(state, canonical)
        if modes:
            return canonical, modes
        root = key.split(".", 1)[0]
        if self._is_static_entity(key) or (forward and self._looks_like_model(key, root)):
            modes = frozenset({Mode(UNKNOWN, None, 0, "never set in view")})
            if self.main is False and self.fn is not None and root not in self.fn.locals:
                modes = ENTRY_MODES
            state.set(canonical, modes)
            return canonical, modes
        return None

    def _looks_like_model(self, key: str, root: str) -> bool:
        last = key.rsplit(".", 1)[-1]
        if not looks_like_model_name(last) or ("." in key and VERB_PREFIX.match(last)):
            return False  # logger.log_model(...), ckpt.save_model(...): methods, not models
        if root in self.imports.names or root in self.facts.module_funcs or \
                root in self.facts.classes:
            return False
        if self.fn is not None and (id(self.fn.node), last) in self.nested:
            return False
        return True

    # ------------------------------------------------------------------ expressions

    def _expr(self, node: ast.expr | None) -> Value:
        if node is None or self.state is None:
            return None
        tp = type(node)
        if tp is ast.Call:
            assert isinstance(node, ast.Call)
            return self._call(node)
        if tp is ast.Name:
            assert isinstance(node, ast.Name)
            return self._name_value(node.id, node)
        if tp is ast.Attribute:
            assert isinstance(node, ast.Attribute)
            if node.attr == "training":
                key = self._ekey(node.value)
                if key is not None:
                    found = self._entity_modes(key)
                    if found is not None:
                        return Flag(found[0], found[1])
                    if key == "self" or key.startswith("self."):
                        canonical = self._canonical(key)
                        return Flag(canonical, self._lookup(self.state, canonical))
                return None
            key = self._ekey(node)
            if key is not None:
                return self._name_value(key, node)
            self._expr(node.value)
            return None
        if tp is ast.Constant:
            return None
        if tp is ast.Tuple or tp is ast.List:
            assert isinstance(node, (ast.Tuple, ast.List))
            return Tup(tuple(self._expr(e) for e in node.elts))
        if tp in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
            self._comprehension(node)  # type: ignore[arg-type]
            return None
        if tp is ast.Lambda:
            return None
        if tp is ast.IfExp:
            assert isinstance(node, ast.IfExp)
            self._expr(node.test)
            a = self._expr(node.body)
            b = self._expr(node.orelse)
            if isinstance(a, GradCtx) or isinstance(b, GradCtx):
                va = a.values if isinstance(a, GradCtx) else frozenset({KEEP})
                vb = b.values if isinstance(b, GradCtx) else frozenset({KEEP})
                return GradCtx(va | vb)
            return a if a == b else None
        if tp is ast.NamedExpr:
            assert isinstance(node, ast.NamedExpr)
            value = self._expr(node.value)
            if self.stmts:
                self._assign(node.target, value, self.stmts[-1])  # type: ignore[arg-type]
            return value
        if tp is ast.Await:
            assert isinstance(node, ast.Await)
            return self._expr(node.value)
        if tp is ast.Yield or tp is ast.YieldFrom:
            self._expr(node.value)  # type: ignore[attr-defined]
            if not self.main and self.state is not None:
                self.yield_states.append(self.state.copy())
            return None
        # the commonest other expressions: their expression children in field order,
        # exactly as the generic loop below would visit them (operators are not visited)
        if tp is ast.BinOp:
            self._expr(node.left)  # type: ignore[attr-defined]
            self._expr(node.right)  # type: ignore[attr-defined]
            return None
        if tp is ast.Compare:
            self._expr(node.left)  # type: ignore[attr-defined]
            for comparator in node.comparators:  # type: ignore[attr-defined]
                self._expr(comparator)
            return None
        if tp is ast.BoolOp:
            for value in node.values:  # type: ignore[attr-defined]
                self._expr(value)
            return None
        if tp is ast.UnaryOp:
            self._expr(node.operand)  # type: ignore[attr-defined]
            return None
        if tp is ast.Subscript:
            assert isinstance(node, ast.Subscript)
            value = self._expr(node.value)
            self._expr(node.slice)
            return self._checkpoint_item(node, value)
        for child in child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child)
            elif isinstance(child, ast.keyword):
                self._expr(child.value)
            elif isinstance(child, ast.comprehension):
                self._expr(child.iter)
        return None

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
                       ) -> None:
        for gen in node.generators:
            self._expr(gen.iter)
        if self.main and node.generators and is_eval_loader_name(
                iter_name(node.generators[0].iter), self.eval_loader_patterns):
            self.eval_loops.add(id(node))
        self.stmts.append(node)
        try:
            for gen in node.generators:
                for cond in gen.ifs:
                    self._expr(cond)
            if isinstance(node, ast.DictComp):
                self._expr(node.key)
                self._expr(node.value)
            else:
                self._expr(node.elt)
        finally:
            self.stmts.pop()

    def _name_value(self, key: str, node: ast.AST) -> Value:
        state = self.state
        assert state is not None
        held = state.saved.get(key)
        if isinstance(held, GradCtx):
            return held
        canonical = self._canonical(key)
        if canonical in state.modes or self._lookup(state, canonical):
            if self.main:
                self._occurrence(node, key, canonical)
            return Ent(canonical, key)
        if self._is_static_entity(key):
            self._entity_modes(key)
            if self.main:
                self._occurrence(node, key, canonical)
            return Ent(canonical, key)
        return None

    def _occurrence(self, node: ast.AST, key: str, canonical: str) -> None:
        state = self.state
        if state is None:
            return
        modes = self._lookup(state, canonical) or frozenset()
        prev = self.occurrences.get(id(node))
        if prev is not None:
            modes = prev[2] | modes
        cls = self.classes_of.get(canonical.split(".")[0])
        self.occurrences[id(node)] = (node, key, modes, cls)

    def _is_spot_tensor(self, call: ast.Call, numpy: bool = True) -> bool:
        """A tensor made on the spot: ``torch.randn(...)``; with ``numpy``, also
        ``np.random.rand(...)`` and ``torch.from_numpy`` of one (``.float()`` after it)."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in TENSOR_CASTS and \
                isinstance(func.value, ast.Call):
            return self._is_spot_tensor(func.value, numpy)
        qual = self._qual(func) or ""
        if numpy and qual.startswith("numpy.random."):
            return True
        if numpy and qual == "torch.from_numpy" and call.args:
            arg = call.args[0]
            if isinstance(arg, ast.Name):
                ctx = self.ctx
                return (id(ctx.node) if ctx else 0, arg.id) in self.spot_names
            return any(isinstance(n, ast.Call) and self._is_spot_tensor(n) for n in ast.walk(arg))
        return qual.startswith("torch.") and qual.rsplit(".", 1)[-1] in SPOT_TENSOR_FUNCS

    def _spot_args(self, node: ast.Call, ctx: FuncCtx, numpy: bool) -> bool:
        scope = self._loop_scope()
        for arg in node.args:
            if isinstance(arg, ast.Call) and self._is_spot_tensor(arg, numpy):
                return True
            if isinstance(arg, ast.Name):
                found = self.spot_names.get((id(ctx.node), arg.id))
                if found is not None and found[0] == scope and (numpy or not found[1]):
                    return True
        return False

    def _built_here(self, modes: Modes, ctx: FuncCtx) -> bool:
        """Every mode of the model comes from a constructor call in this function
        (``D = Discriminator(32)`` in a unit-test helper)."""
        node = ctx.node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        else:
            first, last = 0, 1 << 30
        return bool(modes) and all(m.how == "constructed" and m.line is not None and
                                   first <= m.line <= last for m in modes)

    def _call(self, node: ast.Call) -> Value:
        func = node.func
        state = self.state
        assert state is not None
        qual = self._qual(func)
        if isinstance(func, ast.Attribute):
            method = func.attr
            recv = func.value
            # torch.no_grad().__enter__() / set_grad_enabled(False) as a plain call
            if method in ("__enter__", "__exit__") and isinstance(recv, ast.Call):
                inner = self._qual(recv.func)
                if inner in GRAD_OFF_CTX or inner in GRAD_ON_CTX or inner in SET_GRAD:
                    if method == "__enter__":
                        value = GRAD_ON if inner in GRAD_ON_CTX else (
                            grad_of_flag(recv) if inner in SET_GRAD else GRAD_OFF)
                    else:
                        value = GRAD_ON
                    state.grad = frozenset({value})
                    state.lgrad = frozenset({value})
                    return None
            head = self._dotted(recv)
            head_root = head.split(".", 1)[0] if head else None
            if method not in NOT_FORWARD_METHODS and method not in SELF_RETURNING and \
                    method not in MODULE_METHODS and head_root is not None and \
                    not (head_root in self.imports.names and head_root not in state.modes
                         and head_root not in self.facts.module_used):
                fkey = self._ekey(func)
                if fkey is not None and self._attribute_entity(fkey):
                    found = self._entity_modes(fkey, forward=True)
                    if found is not None:
                        self._args(node)
                        self._forward(node, Ent(found[0], fkey))
                        return None
            if qual is None or head_root is None or not (
                    is_module_qual(qual, self.imports) or (
                        head_root in self.imports.names and head_root not in self.facts.module_used
                        and self._canonical(head_root) == head_root
                        and head_root not in state.modes)):
                recv_value = self._expr(recv)
            else:
                recv_value = None
            if self.state is None:
                return None
            state = self.state
            if method in ("eval", "train") and isinstance(recv_value, (Ent, New)):
                return self._mode_call(node, method, recv, recv_value)
            if method in ("eval", "train") and recv_value is None and not node.args and \
                    not node.keywords:
                key = self._ekey(recv)
                if key is not None and key != "self" and self._maybe_module_for_mode(key):
                    found = self._entity_modes(key)
                    if found is not None:
                        return self._mode_call(node, method, recv, Ent(found[0], key))
            arg_values = self._args(node)
            if isinstance(recv_value, Ent):
                if method in ("forward", "generate"):
                    self._forward(node, recv_value)
                    return None
                if method in SELF_RETURNING:
                    return recv_value
                if method == "load_state_dict":
                    self.loaded_canon.add(recv_value.canonical)
                    return None
                if method not in TORCH_MODULE_API and (
                        not qual or self._callee(node, qual) is None):
                    self._method_of_entity(node, method, recv_value, arg_values)
                    return None
            if isinstance(recv_value, New) and method in SELF_RETURNING:
                return recv_value
            if method == "step":
                self._maybe_step(node, recv)
            elif method == "backward":
                self._backward(node)
            if qual:
                return self._qual_call(node, qual, recv_value, arg_values)
            return None
        # plain calls: f(...)
        key = self._ekey(func) if isinstance(func, ast.Name) else None
        if key is not None and key not in self.imports.names and \
                (self.fn is None or (id(self.fn.node), key) not in self.nested) and \
                key not in self.facts.module_funcs and key not in self.facts.classes:
            if self._class_parameter(key):
                self._args(node)
                return New(frozenset({Mode(TRAIN, node.lineno - 1, node.col_offset, "constructed",
                                           False, node)}), None)
            found = self._entity_modes(key, forward=True) if self._callable_entity(key) else None
            if found is not None:
                self._args(node)
                self._forward(node, Ent(found[0], key))
                return None
        if isinstance(func, ast.Call) or isinstance(func, ast.Subscript):
            self._expr(func)
        arg_values = self._args(node)
        if qual:
            return self._qual_call(node, qual, None, arg_values)
        self._passed_to_unknown(node, arg_values, "a callable")
        return None

    def _attribute_entity(self, key: str) -> bool:
        """``self.model`` / ``gan.netG`` called: a forward only if that path itself is a
        module (not a method of the class, not a mode inherited from its owner)."""
        state = self.state
        assert state is not None
        if self._method_of_known_entity(key):
            return False
        if key.startswith("self.") and key.count(".") == 1:
            cls = self.ctx.class_name if self.ctx is not None else None
            info = self.facts.classes.get(cls) if cls else None
            if info is not None and key[5:] in info.methods:
                return False
        canonical = self._canonical(key)
        if canonical in state.modes or key in state.alias:
            return True
        if self._is_static_entity(key):
            return True
        if self.fn is not None and canonical == key and self.main:
            record = self._record(self.fn)
            if record is not None and key in record.modes:
                return True
            cls = self.ctx.class_name if self.ctx is not None else None
            if cls and key in self.init_state.get(cls, {}):
                return True
        owner = key.rsplit(".", 1)[0]
        if owner != "self" and self._lookup(state, self._canonical(owner)):
            return False  # a method of a module we know (obj.configure_model())
        return self._looks_like_model(key, key.split(".", 1)[0])

    def _class_parameter(self, key: str) -> bool:
        """``def test_discriminator(Discriminator): D = Discriminator(32)``: a class received
        as a parameter and called constructs a model, it does not forward (RULES §2)."""
        fn = self.fn
        return fn is not None and key in fn.params and key[:1].isupper() and \
            not key.isupper() and key not in self.state.modes  # type: ignore[union-attr]

    def _method_of_known_entity(self, key: str) -> bool:
        """``rnn.init_hidden(b)``: a method of a model we track, not a forward call
        (RULES §2), unless the attribute itself is tracked or named like a submodule."""
        owner, _, last = key.rpartition(".")
        if not owner or owner == "self" or looks_like_model_name(last):
            return False
        state = self.state
        assert state is not None
        if key in state.modes or key in state.alias:
            return False
        owner_canonical = self._canonical(owner)
        if not self._lookup(state, owner_canonical):
            return False
        info = self.facts.classes.get(self.classes_of.get(owner_canonical) or "")
        return info is None or last in info.methods  # a class we see: only its methods

    def _callable_entity(self, key: str) -> bool:
        state = self.state
        assert state is not None
        canonical = self._canonical(key)
        return bool(self._lookup(state, canonical)) or self._is_static_entity(key) or \
            self._looks_like_model(key, key.split(".", 1)[0])

    def _maybe_module_for_mode(self, key: str) -> bool:
        last = key.rsplit(".", 1)[-1].lower()
        if "trainer" in last or "pipeline" in last or last in ("args", "config", "cfg", "df"):
            return False
        if key.startswith("self.") or key == "self":
            return True
        root = key.split(".", 1)[0]
        return root not in self.imports.names

    def _args(self, node: ast.Call) -> list[Value]:
        values: list[Value] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self._expr(arg.value)
                values.append(None)
            else:
                values.append(self._expr(arg))
        for kw in node.keywords:
            self._expr(kw.value)
        if self.main and self.facts.trained:
            for value in values:
                if isinstance(value, Ent) and self._trained(value.key):
                    self._arg_use(node, value)
        return values

    def _trained(self, key: str) -> bool:
        trained = self.facts.trained
        return key in trained or any(key.startswith(t + ".") for t in trained)

    def _arg_use(self, node: ast.Call, value: Ent) -> None:
        """A trained model handed to a call (``compute_loss(model, batch)``): its forward
        happens there, in the training step of this iteration (TM003)."""
        state = self.state
        if state is None or self.ctx is None:
            return
        modes = self._lookup(state, value.canonical) or frozenset()
        key = (id(node), value.canonical)
        existing = self.arg_uses.get(key)
        if existing is not None:
            existing.modes |= modes
            return
        self.arg_uses[key] = ForwardEvent(
            node, value.key, value.canonical, set(modes), set(state.grad), set(state.lgrad),
            self.ctx, tuple(self.stmts), (), True, False, None)

    def _mode_call(self, node: ast.Call, method: str, recv: ast.expr, value: Ent | New) -> Value:
        """``m.eval()`` / ``m.train(...)``: set the mode; returns the module."""
        if method == "eval" and (node.args or node.keywords):
            self._args(node)
            return None  # DataFrame.eval("a + b") and friends
        key = value.key if isinstance(value, Ent) else (entity_key(recv) or "model")
        kind = EVAL if method == "eval" else TRAIN
        flag_node: ast.expr | None = None
        if method == "train":
            if node.args:
                flag_node = node.args[0]
            for kw in node.keywords:
                if kw.arg == "mode":
                    flag_node = kw.value
            if flag_node is not None:
                truth = const_truth(flag_node)
                if truth is None:
                    kind = DYNAMIC
                    self._expr(flag_node)
                else:
                    kind = TRAIN if truth else EVAL
        if isinstance(value, New):
            line = node.lineno - 1
            how = f"{key}.{method}()"
            return New(frozenset({Mode(kind, line, node.col_offset, how, False, node,
                                       method_call=True)}), value.cls, value.loaded)
        state = self.state
        assert state is not None
        canonical = value.canonical
        if kind == DYNAMIC and isinstance(flag_node, ast.Name):
            saved = state.saved.get(flag_node.id)
            if isinstance(saved, Flag) and saved.canonical == canonical and saved.snapshot:
                state.set(canonical, saved.snapshot)   # train(was_training): restored
                return value
        if kind in (EVAL, TRAIN) and self._under_train_flag():
            kind = DYNAMIC  # test(model, train=True): train-mode evaluation on purpose
        how = f"{key}.{method}()" if flag_node is None else f"{key}.train({ast.unparse(flag_node)})"
        param_flag = None
        if kind == DYNAMIC and not self.main and self.fn is not None and \
                isinstance(flag_node, ast.Name) and flag_node.id in self.fn.params:
            param_flag = flag_node.id
        self._set_mode(canonical, kind, node, how, param_flag=param_flag,
                       method_call=flag_node is None)
        self._apply_override(node, method, canonical, kind)
        return value

    def _under_train_flag(self) -> bool:
        """Inside ``if train:`` / ``if train == True:`` on a parameter named ``train``,
        ``training`` or ``train_mode``: the caller chooses the mode (RULES §2, deliberate
        train-mode evaluation)."""
        fn = self.fn
        if fn is None:
            return False
        return any(g is not None and any(name in TRAIN_FLAGS and name in fn.params
                                         for name in g[2]) for g in self.guards)

    def _apply_override(self, node: ast.Call, method: str, canonical: str, kind: str) -> None:
        """A class that overrides train()/eval() (e.g. to keep BatchNorm frozen): apply
        the override's effect on ``self.*`` after the mode switch."""
        cls = self.classes_of.get(canonical)
        if cls is None or cls not in self.facts.classes:
            return
        info = self.facts.classes[cls]
        name = method if method in info.methods else ("train" if method == "eval" and
                                                      "train" in info.methods else None)
        if name is None:
            return
        fn = self.facts.by_node.get(id(info.methods[name]))
        if fn is None or id(fn.node) == id(self.fn.node if self.fn else None):
            return
        summary = self._summary(fn)
        self._apply_summary(node, summary, [], fn.params[1:], self_target=canonical)

    def _forward(self, node: ast.Call, value: Ent) -> None:
        state = self.state
        if state is None or not self.main:
            return
        modes = self._lookup(state, value.canonical) or frozenset()
        if self.guards:
            modes = frozenset(self._feasible(modes))
        if value.key.split(".", 1)[0] in self.not_modules or modes and all(
                m.guard is not None and not m.guard[1] and m.guard[0] in self.not_module_tests
                for m in modes):
            return
        key = value.key
        ctx = self.ctx
        assert ctx is not None
        target = node.func.value if isinstance(node.func, ast.Attribute) and \
            node.func.attr in ("forward", "generate") else node.func
        self._occurrence(target, key, value.canonical)
        # numpy random data is a shape check only for a model built right here (a unit-test
        # helper), not for a trained generator sampled from noise
        smoke = self._spot_args(node, ctx, numpy=False) or (
            self._spot_args(node, ctx, numpy=True) and self._built_here(modes, ctx))
        root_key = key
        trained = root_key in self.facts.trained or any(
            root_key.startswith(t + ".") for t in self.facts.trained)
        existing = self.forwards.get(id(node))
        if existing is not None:
            existing.modes |= modes
            existing.grad |= state.grad
            existing.lgrad |= state.lgrad
            return
        cls = self.classes_of.get(value.canonical) or self.classes_of.get(
            value.canonical.split(".")[0])
        if cls is None:
            rec = self._record(self.fn) if self.fn is not None else None
            if rec is not None:
                cls = rec.classes.get(key)
        if cls is None and ctx.class_name and key.startswith("self."):
            cls = self.init_classes.get(ctx.class_name, {}).get(key)
        self.forwards[id(node)] = ForwardEvent(
            node, key, value.canonical, set(modes), set(state.grad), set(state.lgrad), ctx,
            tuple(self.stmts), (), trained, smoke, cls)

    def _loop_scope(self) -> int:
        """The innermost loop around the current statement (0: none). A tensor made with
        torch.randn outside the loop that forwards it is an input (GAN noise), not a
        shape probe."""
        for stmt in reversed(self.stmts):
            if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
                return id(stmt)
        return 0

    def _maybe_step(self, node: ast.Call, recv: ast.expr) -> None:
        rkey = self._dotted(recv)
        if not rkey:
            return
        last = rkey.rsplit(".", 1)[-1].lower()
        if "sched" in last:
            return
        if ("scaler" in last and node.args) or rkey in self.facts.optimizer_vars or \
                is_optimizer_name(rkey, self.facts.optimizer_vars):
            self._step(node, "optimizer")

    def _backward(self, node: ast.Call) -> None:
        if not self.main or self.ctx is None or self.state is None:
            return
        ev = self.backwards.get(id(node))
        if ev is None:
            self.backwards[id(node)] = StepEvent(node, "backward", self.ctx, tuple(self.stmts),
                                                 set(self.state.lgrad))
        else:
            ev.lgrad |= self.state.lgrad
        if not self.ctx.gradient_use or self._has_optimizer_step():
            self._step(node, "backward")

    def _has_optimizer_step(self) -> bool:
        if self.fn is None:
            return self.facts.module_step
        return self.fn.direct_step

    def _step(self, node: ast.Call, kind: str) -> None:
        if not self.main or self.ctx is None or self.state is None:
            return
        ev = self.steps.get(id(node))
        if ev is None:
            ev = self.steps[id(node)] = StepEvent(node, kind, self.ctx, tuple(self.stmts))
        for fwd in (*self.forwards.values(), *self.arg_uses.values()):
            if fwd.func is self.ctx:
                modes = self._lookup(self.state, fwd.canonical) or frozenset()
                ev.modes.setdefault(fwd.canonical, set()).update(self._feasible(modes))

    def _qual_call(self, node: ast.Call, qual: str, recv_value: Value,
                   arg_values: list[Value] | None = None) -> Value:
        """Calls by qualified name: constructors, factories, wrappers, loaders, functions."""
        state = self.state
        if state is None:
            return None
        args = arg_values if arg_values is not None else []
        last = qual.rsplit(".", 1)[-1]
        line = node.lineno - 1
        if qual in SET_GRAD:
            value = grad_of_flag(node)
            state.grad = frozenset({value})
            state.lgrad = frozenset({value})
            return None
        if self.main and handed_callbacks(node):
            self._register_callbacks(node)
        callee = self._callee(node, qual)
        if callee is not None:
            return self._apply_call(node, callee, args)
        if qual in GRAD_OFF_CTX or qual in GRAD_ON_CTX:
            stmt = self.stmts[-1] if self.stmts else None
            kind = self._grad_ctx(node, stmt) if stmt is not None else None  # type: ignore[arg-type]
            return GradCtx(frozenset({kind})) if kind is not None else None
        if qual in WRAPPERS or last in ("DistributedDataParallel", "DataParallel", "DDP",
                                        "FullyShardedDataParallel", "FSDP"):
            return args[0] if args and isinstance(args[0], (Ent, New)) else None
        if last == "prepare" or qual.endswith("amp.initialize"):
            if len(args) == 1:
                return args[0]
            return Tup(tuple(args))
        if qual in ("copy.deepcopy", "deepcopy"):
            if args and isinstance(args[0], Ent):
                modes = self._lookup(state, args[0].canonical) or frozenset()
                return New(modes, self.classes_of.get(args[0].canonical))
            return args[0] if args and isinstance(args[0], New) else None
        if qual in LOADERS or qual.endswith(("jit.load", "torch.load")):
            how = f"loaded with {qual}"
            return New(frozenset({Mode(LOADED, line, node.col_offset, how, False, node)}),
                       None, True)
        if last == "from_pretrained":
            owner = qual.rsplit(".", 2)[-2] if qual.count(".") >= 1 else ""
            if owner.endswith(("Tokenizer", "TokenizerFast", "Processor", "Config",
                               "FeatureExtractor", "Scheduler", "Pipeline", "Configuration")):
                return None  # not an nn.Module
            if qual.startswith(PRETRAINED_EVAL_PREFIXES) or self._is_hf_class(qual):
                return New(frozenset({Mode(EVAL, line, node.col_offset,
                                           f"{last}() (returns eval mode)", False, node)}),
                           qual.rsplit(".", 2)[-2] if "." in qual else None, True)
            base = qual.rsplit(".", 1)[0]
            return New(frozenset({Mode(TRAIN, line, node.col_offset,
                                       f"built by {base}.from_pretrained()", False, node)}),
                       base.rsplit(".", 1)[-1], True)
        if qual.startswith(FACTORY_PREFIXES):
            return New(frozenset({Mode(TRAIN, line, node.col_offset, "constructed", False, node)}),
                       None)
        if qual.startswith("torch.nn.") and last[:1].isupper() and \
                not qual.startswith(("torch.nn.functional", "torch.nn.utils", "torch.nn.init")) \
                and last not in ("Parameter", "ParameterList", "ParameterDict"):
            if NEUTRAL_BUILTINS.match(last):
                return None  # losses and activations: no parameters, no mode
            cls = qual
            if last in ("Sequential", "ModuleList", "ModuleDict"):
                cls = self.resolver.inline_layers(node, f"<{last}@{line}:{node.col_offset}>")
            return New(frozenset({Mode(TRAIN, line, node.col_offset, "constructed", False, node)}),
                       cls, False, entity_children(args))
        if LOSS_CLASS.search(last) and self.resolver.is_module_class(qual):
            return None  # a project's own loss (Tacotron2Loss): a criterion, not a model
        if ("." not in qual and qual in self.facts.classes or last[:1].isupper() and
                self.resolver.find(qual) is not None) and self.resolver.is_module_class(qual):
            special = self._special_construction(node, qual, args)
            if special is not None:
                return special
            return New(frozenset({Mode(TRAIN, line, node.col_offset, "constructed", False, node)}),
                       self._class_at(qual, node), False, entity_children(args))
        if self.external is not None:
            full = self._full_qual(qual)
            summary = self.external(full)
            if summary is not None:
                if self.main:
                    self._record_external(node, full, summary, args)
                return self._apply_summary(node, summary, args, None)
        if qual == "torch.onnx.export" and any(
                (kw.arg == "dynamo" and const_truth(kw.value) is False) or kw.arg == "training"
                for kw in node.keywords):
            return None  # the TorchScript exporter switches to eval itself / mode chosen
        if qual in EXPORTERS:
            if args and isinstance(args[0], Ent) and self.main and self.ctx is not None:
                modes = self._lookup(state, args[0].canonical) or frozenset()
                ev = self.exports.get(id(node))
                if ev is None:
                    self.exports[id(node)] = ExportEvent(node, args[0].key, set(modes), self.ctx,
                                                         tuple(self.stmts))
                else:
                    ev.modes |= modes
            return None
        if qual in ("torch.autograd.backward",):
            self._backward(node)
            return None
        self._passed_to_unknown(node, args, qual)
        if last[:1].isupper() and self._builds_used_module(node) and \
                self.resolver.find(qual) is None:
            # A class we cannot see (an unanalysed import) whose result is used as a
            # module elsewhere: every nn.Module constructor returns training mode.
            return New(frozenset({Mode(TRAIN, line, node.col_offset, "constructed", False, node)}),
                       None)
        return None

    def _class_at(self, name: str, node: ast.AST) -> str:
        """The definition of a local class in force at ``node``: a class redefined in a
        later notebook cell does not change a model built before it (RULES §2a)."""
        lines = self.facts.class_lines.get(name)
        line = getattr(node, "lineno", 0)
        if not lines or len(lines) < 2 or line > lines[-1]:
            return name
        before = [n for n in lines if n < line]
        if not before or before[-1] == lines[-1]:
            return name
        return f"{name}@{before[-1]}"

    def _special_construction(self, node: ast.Call, qual: str, args: list[Value]) -> New | None:
        """A module whose mode is not the constructor's train mode: one that loads its
        model in ``__init__`` (unknown), or a wrapper around a model (its mode)."""
        found = self.resolver.find(qual)
        if found is not None and found.loads_in_init:
            how = f"built by {qual.rsplit('.', 1)[-1]}(), which loads its model in __init__"
            return New(frozenset({Mode(UNKNOWN, node.lineno - 1, node.col_offset, how, False,
                                       node)}), qual, True, entity_children(args))
        wrapped = self._wrapped_modes(found, args)
        return New(wrapped, qual, False, entity_children(args)) if wrapped else None

    def _wrapped_modes(self, cls: ClassSummary | None, args: list[Value]) -> Modes | None:
        """``iOSModel(model, im)``: a wrapper with no mode-dependent layer of its own built
        around a model behaves as the wrapped model does (RULES §3, TM007)."""
        state = self.state
        if cls is None or cls.layers or state is None:
            return None
        for arg in args:
            if isinstance(arg, Ent):
                modes = self._lookup(state, arg.canonical)
                if modes and all(m.kind != ENTRY for m in modes):
                    return modes
        return None

    def _checkpoint_item(self, node: ast.Subscript, value: Value) -> Value:
        """``encoder = checkpoint["encoder"]`` with ``checkpoint = torch.load(p)``: a module
        of unknown mode, loaded (RULES §2), when the name is used as a module."""
        state = self.state
        if state is None or not isinstance(node.slice, ast.Constant) or \
                not isinstance(node.slice.value, str) or \
                not self._assigned_module(node, named=True):
            return None
        if isinstance(value, New):
            modes: Modes | None = value.modes
        elif isinstance(value, Ent):
            modes = self._lookup(state, value.canonical)
        else:
            return None
        if not modes or any(m.kind != LOADED for m in modes):
            return None
        how = f"loaded from a checkpoint ({ast.unparse(node)})"
        return New(frozenset({Mode(LOADED, node.lineno - 1, node.col_offset, how, False, node)}),
                   None, True)

    def _assigned_module(self, node: ast.expr, named: bool = False) -> bool:
        """``node`` is the whole value of an assignment to a name used as a module (with
        ``named``, also to a name people give to models), or the constructor at the root
        of a chain (``Net().to(device)``, ``nn.DataParallel(Net()).cuda()``)."""
        stmt = self.stmts[-1] if self.stmts else None
        if not isinstance(stmt, ast.Assign) or chain_root(stmt.value, self.imports) is not node:
            return False
        keys = [key for key in map(entity_key, stmt.targets) if key is not None]
        return any(self._is_static_entity(key) or named and looks_like_model_name(
            key.rsplit(".", 1)[-1]) for key in keys)

    def _builds_used_module(self, node: ast.Call) -> bool:
        return self._assigned_module(node)

    def _passed_to_unknown(self, node: ast.Call, args: list[Value], name: str) -> None:
        """A module handed to code we cannot see may come back in any mode."""
        if name.rsplit(".", 1)[-1] in HARMLESS_CALLS or name in HARMLESS_CALLS:
            return
        values = list(args)
        for kw in node.keywords:
            key = self._ekey(kw.value)
            if key is not None and self.state is not None:
                canonical = self._canonical(key)
                if canonical in self.state.modes:
                    values.append(Ent(canonical, key))
        for value in values:
            if isinstance(value, Ent):
                self._add_unknown(value.canonical, node, f"passed to {name}()")

    def _add_unknown(self, canonical: str, node: ast.Call, how: str) -> None:
        state = self.state
        if state is None or canonical == "self":
            return
        old = self._lookup(state, canonical) or frozenset()
        if not old or (all(m.kind == ENTRY for m in old) and not (
                self._is_static_entity(canonical) or
                looks_like_model_name(canonical.rsplit(".", 1)[-1]) or
                (self.fn is not None and canonical in self.fn.params))):
            return
        if any(m.kind == UNKNOWN and m.how == how for m in old):
            return
        mode = Mode(UNKNOWN, node.lineno - 1, node.col_offset, how, False, node)
        state.set(canonical, old | {mode})

    def _method_of_entity(self, node: ast.Call, method: str, value: Ent,
                          args: list[Value]) -> None:
        """``model.freeze_bn()``: the class's own method if we see it, else unknown."""
        cls = self.classes_of.get(value.canonical)
        info = self.facts.classes.get(cls) if cls else None
        if info is not None:
            fn_node = info.methods.get(method)
            fn = self.facts.by_node.get(id(fn_node)) if fn_node is not None else None
            if fn is not None:
                self._apply_summary(node, self._summary(fn), args, fn.params[1:],
                                    self_target=value.canonical)
                return
            if not any(b for b in info.bases if not self.resolver.is_module_base(b)
                       and b not in ("object", "")):
                return  # a torch.nn.Module method the class does not override
        self._add_unknown(value.canonical, node, f"{value.key}.{method}()")

    def _is_hf_class(self, qual: str) -> bool:
        head = qual.split(".", 1)[0]
        full = self.imports.names.get(head, "")
        return full.startswith(PRETRAINED_EVAL_PREFIXES)

    def _full_qual(self, qual: str) -> str:
        if qual.startswith(".") and self.resolver.module_name:
            from .layers import _resolve_relative
            return _resolve_relative(qual, self.resolver.module_name)
        return qual

    def _callee(self, node: ast.Call, qual: str) -> FuncInfo | None:
        name = self._dotted(node.func)
        if name is None:
            return None
        return self._static_callee(self.fn, name)

    def _apply_call(self, node: ast.Call, callee: FuncInfo, args: list[Value]) -> Value:
        """A call of a function of this file: record what the caller passes, apply its effect."""
        state = self.state
        assert state is not None
        is_method = callee.class_name is not None
        params = callee.params[1:] if is_method and callee.params else list(callee.params)
        via_self = isinstance(node.func, ast.Attribute) and self._dotted(node.func.value) == "self"
        is_ctor = callee.name == "__init__" and not via_self
        if self.main:
            record = self.records.setdefault(id(callee.node), CallRecord())
            record.count += 1
            record.grad |= state.grad
            for name, value in self._bind(node, params, args):
                if isinstance(value, Ent):
                    modes = self._lookup(state, value.canonical)
                    if modes:
                        record.modes.setdefault(name, set()).update(modes)
                        cls = self.classes_of.get(value.canonical)
                        if cls:
                            record.classes[name] = cls
                elif isinstance(value, New):
                    record.modes.setdefault(name, set()).update(value.modes)
                    if value.cls:
                        record.classes[name] = value.cls
            for key in self._outside_keys(callee, via_self, is_method):
                canonical = self._canonical(key)
                modes = self._lookup(state, canonical)
                if modes:
                    record.modes.setdefault(key, set()).update(modes)
                    cls = self.classes_of.get(canonical)
                    if cls:  # a global model used in the callee keeps its class (layers)
                        record.classes.setdefault(key, cls)
        summary = self._summary(callee)
        result = self._apply_summary(node, summary, args, params, via_self=via_self)
        if is_ctor:
            cls = callee.class_name
            if cls and LOSS_CLASS.search(cls):
                return None  # a project's own loss: a criterion, not a model
            if cls and self.resolver.is_module_class(cls):
                special = self._special_construction(node, cls, args)
                if special is not None:
                    return special
                return New(frozenset({Mode(TRAIN, node.lineno - 1, node.col_offset, "constructed",
                                           False, node)}), self._class_at(cls, node), False,
                           entity_children(args))
        return result

    def _scope_id(self) -> int:
        return id(self.fn.node) if self.fn is not None else 0

    def _models_given(self, call: ast.Call) -> tuple[str, ...]:
        """The canonical names of the models ``call`` receives as arguments."""
        state = self.state
        assert state is not None
        found: list[str] = []
        for arg in (*call.args, *(kw.value for kw in call.keywords)):
            key = self._ekey(arg)
            if key is not None and key != "self":
                canonical = self._canonical(key)
                if self._lookup(state, canonical) and canonical not in found:
                    found.append(canonical)
        return tuple(found)

    def _note_trainer(self, stmt: ast.Assign) -> None:
        """``trainer = Trainer(config, model, dataset)``: remember which models it trains."""
        call = stmt.value
        assert isinstance(call, ast.Call)
        names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        if not names or self.state is None or not builds_trainer(call, names):
            return
        models = self._models_given(call)
        for name in names:
            if models:
                self.trainers[(self._scope_id(), name)] = models
            else:
                self.trainers.pop((self._scope_id(), name), None)

    def _register_callbacks(self, node: ast.Call) -> None:
        """A callback handed to a trainer runs while the trainer trains its models: record
        its call with those models in train mode (RULES §2 "Closures and callbacks")."""
        receiver = registering_receiver(node)
        if receiver is not None:
            models = self.trainers.get((self._scope_id(), receiver), ())
            trainer = receiver
        elif builds_trainer(node, []):
            models = self._models_given(node)
            trainer = (self._dotted(node.func) or "the trainer").rsplit(".", 1)[-1]
        else:
            return
        if not models:
            return
        how = f"{trainer}, which trains it while it runs this callback, registered"
        mode = Mode(TRAIN, node.lineno - 1, node.col_offset, how, False, node)
        for name in handed_callbacks(node):
            callee = self._static_callee(self.fn, name)
            if callee is not None:
                self._record_callback(callee, models, mode)

    def _record_callback(self, callee: FuncInfo, models: tuple[str, ...], mode: Mode) -> None:
        state = self.state
        assert state is not None
        record = self.records.setdefault(id(callee.node), CallRecord())
        record.count += 1
        record.grad.add(GRAD_ON)   # a trainer runs its callbacks between training steps
        for key in self._outside_keys(callee, False, False):
            canonical = self._canonical(key)
            trained = any(canonical == m or canonical.startswith(m + ".") for m in models)
            modes = {mode} if trained else self._lookup(state, canonical)
            if modes:
                record.modes.setdefault(key, set()).update(modes)
                cls = self.classes_of.get(canonical)
                if cls:
                    record.classes.setdefault(key, cls)

    def _record_external(self, node: ast.Call, qual: str, summary: Summary,
                         args: list[Value]) -> None:
        state = self.state
        assert state is not None
        record = self.external_records.setdefault(qual, CallRecord())
        record.count += 1
        record.grad |= state.grad
        for name, value in self._bind(node, summary.params, args):
            modes: Modes | None = None
            cls: str | None = None
            if isinstance(value, Ent):
                modes = self._lookup(state, value.canonical)
                cls = self.classes_of.get(value.canonical)
            elif isinstance(value, New):
                modes, cls = value.modes, value.cls
            if modes:
                record.modes.setdefault(name, set()).update(modes)
                if cls:
                    record.classes[name] = cls

    def _bind(self, node: ast.Call, params: list[str], args: list[Value]
              ) -> list[tuple[str, Value]]:
        out: list[tuple[str, Value]] = []
        for i, value in enumerate(args):
            if i < len(params):
                out.append((params[i], value))
        for kw in node.keywords:
            if kw.arg and kw.arg in params:
                key = self._ekey(kw.value)
                if key is not None:
                    value = self._name_value(key, kw.value) if self.state is not None else None
                    out.append((kw.arg, value))
        return out

    def _apply_summary(self, node: ast.Call, summary: Summary, args: list[Value],
                       params: list[str] | None, via_self: bool = False,
                       self_target: str | None = None,
                       entry_state: State | None = None) -> Value:
        state = self.state
        if state is None:
            return None
        if summary.reaches_step and self.main and self.ctx is not None:
            if id(node) not in self.call_steps:
                self.call_steps[id(node)] = StepEvent(node, "call", self.ctx, tuple(self.stmts))
        if params is None:
            params = summary.params
        bound = dict(self._bind(node, params, args))
        if summary.return_classes:
            self._call_classes[id(node)] = summary.return_classes
        line = node.lineno - 1
        how = f"{summary.name}()"
        for key, effect in summary.effects.items():
            root, _, rest = key.partition(".")
            target: str | None = None
            if root in bound:
                value = bound[root]
                if isinstance(value, Ent):
                    target = value.canonical + ("." + rest if rest else "")
            elif root == "self":
                if self_target is not None:
                    target = self_target + ("." + rest if rest else "")
                elif via_self and (rest or (self.ctx is not None and self.ctx.is_module_class)):
                    target = self._canonical(key)
            elif root not in params:
                target = self._canonical(key)
            if target is None:
                continue
            old = self._lookup(entry_state or state, target) or frozenset()
            new: set[Mode] = set()
            for mode in effect:
                if mode.kind == ENTRY:
                    new |= old
                    continue
                kind = mode.kind
                if kind == DYNAMIC and mode.param_flag:
                    truth = const_truth(arg_node(node, params, mode.param_flag))
                    if truth is not None:
                        kind = TRAIN if truth else EVAL
                new.add(Mode(kind, line, node.col_offset, how, mode.flagged, node))
            state.set(target, frozenset(new))
            state.drop_children(target)
            if self.main and self.ctx is not None and any(m.kind == EVAL for m in effect) and \
                    not any(m.kind == ENTRY for m in effect):
                self.mode_sets[id(node)] = ModeSwitchEvent(EVAL, target, self.ctx,
                                                           tuple(self.stmts))
        returns = summary.returns
        if isinstance(returns, New):
            return New(frozenset(Mode(m.kind, line, node.col_offset,
                                      "constructed" if m.how == "constructed" else how,
                                      m.flagged, node) for m in returns.modes),
                       returns.cls, returns.loaded)
        if isinstance(returns, Ent):
            value = bound.get(returns.canonical.split(".")[0])
            if isinstance(value, Ent):
                return value
        return None

    def _outside_keys(self, callee: FuncInfo, via_self: bool, is_method: bool) -> list[str]:
        """The keys ``callee`` reads that name something of its caller (not its own
        parameters or locals, not ``self`` unless called through ``self``); a pure function
        of the callee and the call's shape, so computed once per pair."""
        ck = (id(callee.node), via_self, is_method)
        found = self._outside_cache.get(ck)
        if found is not None:
            return found
        out: list[str] = []
        self._outside_cache[ck] = out   # a recursive call sees what is known so far
        for key in sorted(self._referenced_keys(callee) | self._callee_globals(callee)):
            if key == "self":
                continue  # the object itself: a module class's self is its callers' model
            root = key.split(".", 1)[0]
            if root in callee.params or root in callee.locals:
                if not (root == "self" and via_self and is_method):
                    continue
            if root == "self" and not via_self:
                continue
            out.append(key)
        self._outside_cache[ck] = out
        return out

    def _callee_globals(self, fn: FuncInfo) -> set[str]:
        """Outside keys of the top-level functions ``fn`` calls by name: ``predict()`` calls
        ``evaluate()``, which reads the global ``rnn``; a caller of ``predict()`` must pass
        ``rnn``'s mode through (RULES §2, regions reach into the helpers they call)."""
        keys: set[str] = set()
        for name in fn.calls:
            callee = self._static_callee(fn, name)
            if callee is None or callee is fn or callee.class_name is not None:
                continue
            keys.update(self._outside_keys(callee, False, False))
        return keys

    def _referenced_keys(self, fn: FuncInfo) -> set[str]:
        cached = self._refkeys.get(id(fn.node))
        if cached is not None:
            return cached
        keys: set[str] = set()
        # The entity keys of every loaded Name/Attribute in the function (all nodes, as
        # ast.walk visits them; order is irrelevant, the result is a set). A dotted chain
        # ``a.b.c`` is taken whole: its inner nodes ``a.b`` and ``a`` are always loads.
        stack: list[ast.AST] = [fn.node]
        pop, push = stack.pop, stack.append
        fields_get = _NODE_FIELDS.get
        constant = ast.Constant   # no children, no keys: never pushed
        while stack:
            sub = pop()
            tp = type(sub)
            if tp is ast.Name:
                if isinstance(sub.ctx, ast.Load):  # type: ignore[attr-defined]
                    keys.add(sub.id)  # type: ignore[attr-defined]
                continue
            if tp is ast.Attribute:
                chain = dotted(sub)
                if chain is not None:
                    parts = chain.split(".")
                    loaded = isinstance(sub.ctx, ast.Load)  # type: ignore[attr-defined]
                    last = len(parts) if loaded else len(parts) - 1
                    for i in range(1, last + 1):
                        keys.add(entity_key_of(".".join(parts[:i])))
                    continue
            fields = fields_get(tp)
            if fields is None:
                fields = node_fields(tp)
            for name in fields:
                child = getattr(sub, name, None)
                if type(child) is list:
                    for c in child:
                        if isinstance(c, ast.AST) and type(c) is not constant:
                            push(c)
                elif isinstance(child, ast.AST) and type(child) is not constant:
                    push(child)
        self._refkeys[id(fn.node)] = keys
        return keys


# ----------------------------------------------------------------------------- helpers

_NODE_FIELDS: dict[type, tuple[str, ...]] = {}


def node_fields(tp: type) -> tuple[str, ...]:
    """``tp._fields`` without ``ctx`` (Load/Store/Del hold no nodes worth visiting)."""
    fields = _NODE_FIELDS.get(tp)
    if fields is None:
        fields = _NODE_FIELDS[tp] = tuple(f for f in getattr(tp, "_fields", ()) if f != "ctx")
    return fields


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """The children ``ast.iter_child_nodes`` yields, in the same order (field order, then
    list order), as a list (no generator)."""
    out: list[ast.AST] = []
    for name in node_fields(type(node)):
        child = getattr(node, name, None)
        if isinstance(child, ast.AST):
            out.append(child)
        elif type(child) is list:
            out.extend(c for c in child if isinstance(c, ast.AST))
    return out


def target_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def arg_node(call: ast.Call, params: list[str], name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if name in params:
        index = params.index(name)
        if index < len(call.args) and not any(isinstance(a, ast.Starred)
                                              for a in call.args[:index + 1]):
            return call.args[index]
    return None


def returns_value(node: ast.AST) -> bool:
    """Does the function hold a ``return <value>`` (its own, not a nested function's)?"""
    stack = list(getattr(node, "body", []))
    while stack:
        sub = stack.pop()
        if isinstance(sub, ast.Return) and sub.value is not None:
            return True
        if not isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                ast.Lambda, ast.expr)):
            stack.extend(ast.iter_child_nodes(sub))
    return False


def guard_names(test: ast.expr) -> frozenset[str] | None:
    """A condition simple enough to correlate branches (names, attributes, comparisons):
    the names it reads; None for any other condition."""
    names: set[str] = set()
    stack: list[ast.AST] = [test]   # every node, as ast.walk (order does not matter here)
    while stack:
        sub = stack.pop()
        tp = type(sub)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and \
                sub.func.id in PURE_TESTS:
            stack.extend(sub.args)
            continue
        if tp is ast.Call or tp is ast.NamedExpr or tp is ast.Await or tp is ast.Lambda:
            return None
        if tp is ast.Name:
            names.add(sub.id)  # type: ignore[attr-defined]
            continue
        stack.extend(child_nodes(sub))
    if not names:
        return None
    return frozenset(names)


def const_truth(node: ast.AST | None) -> bool | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int)):
        return bool(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = const_truth(node.operand)
        return None if inner is None else not inner
    return None


def grad_of_flag(call: ast.Call) -> str:
    flag: ast.AST | None = call.args[0] if call.args else None
    for kw in call.keywords:
        if kw.arg == "mode":
            flag = kw.value
    truth = const_truth(flag)
    if truth is None:
        return GRAD_DYN
    return GRAD_ON if truth else GRAD_OFF


def iter_name(node: ast.AST) -> str:
    """The names an iterable is made of: ``enumerate(tqdm(val_loader))`` -> ``val_loader``."""
    parts: list[str] = []
    stack: list[ast.AST] = [node]
    while stack and len(parts) < 20:
        cur = stack.pop()
        if isinstance(cur, ast.Call):
            stack.extend(cur.args)
            stack.extend(kw.value for kw in cur.keywords if kw.arg not in ("desc", "total"))
            if isinstance(cur.func, ast.Attribute):
                stack.append(cur.func.value)
        elif isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            stack.append(cur.value)
        elif isinstance(cur, ast.Name):
            parts.append(cur.id)
        elif isinstance(cur, ast.Subscript):
            stack.append(cur.value)
            stack.append(cur.slice)
        elif isinstance(cur, ast.Constant) and isinstance(cur.value, str):
            parts.append(cur.value)
        elif isinstance(cur, (ast.Tuple, ast.List)):
            stack.extend(cur.elts)
    return " ".join(parts)


def is_module_qual(qual: str, imports: object) -> bool:
    """True when the receiver of a method call is an imported module (``torch.load``)."""
    head = qual.split(".", 1)[0]
    return head in ("torch", "torchvision", "timm", "transformers", "diffusers", "copy", "os",
                    "np", "numpy", "math", "F")


def chain_root(value: ast.expr, imports: object) -> ast.expr:
    """The constructor call under ``.to(device)`` / ``.cuda()`` / ``.train()`` and
    ``nn.DataParallel(...)`` wrappers: ``nn.DataParallel(Net()).cuda()`` -> ``Net()``."""
    while isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr in SELF_RETURNING:
            value = func.value
            continue
        qual = imports.qual(func) if hasattr(imports, "qual") else None
        if qual in WRAPPERS and value.args:
            value = value.args[0]
            continue
        break
    return value

