"""Which functions the interpreter runs, in which order and from which entry state.

Summary runs go bottom-up over the call graph (a callee's effect is known before its
callers run); main runs go top-down, each function's entry state being the join of
what its visible callers pass (``CallRecord``). Only main runs record events. This part
also answers cross-function questions: whether a function reaches an optimizer step,
runs its forward without grad, or wants its callers' states from other files.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..decorators import returns_grad_off
from ..domain import (
    ENTRY_MODES,
    Budget,
    CallRecord,
    Ent,
    GradCtx,
    Modes,
    New,
    State,
    Summary,
    Value,
    resolve_alias,
    self_keys,
    strip_nodes,
)
from ..facts import FuncInfo
from ..model import (
    GRAD_OFF,
    GRAD_ON,
    GRAD_UNK,
    ForwardEvent,
    FuncCtx,
    GradState,
    Mode,
)
from ..names import (
    GRAD_OFF_CTX,
    GRAD_ON_CTX,
    HOOK_RE,
    SET_GRAD,
    dotted,
    is_eval_function_name,
    looks_like_model_name,
)
from ..prefilter import EVAL_LOOP_TEXT, RELEVANT_TEXT
from .events import NULL_SINK
from .frames import Frames
from .run_state import FunctionRun
from .syntax import (
    grad_of_flag,
    returns_value,
)

if TYPE_CHECKING:
    from ..flow import Interpreter

    # The methods of this part run on the composed Interpreter (their ``self``
    # annotation); an ``Any`` base lets the type checker accept that annotation.
    Part: Any = object
else:
    Part = object


class FunctionRuns(Part):
    """Which functions the interpreter runs, in which order and from which entry state. A part
    of ``Interpreter`` (flow.py): its methods run on the interpreter's state.
    """

    # Interpreter fields this part assigns (first set in Interpreter.__init__), declared
    # here so that the type checker reads these assignments as the interpreter's fields.
    budget: int
    lines: list[str] | None
    run: FunctionRun

    # ------------------------------------------------------------------ driver

    def run_all(self: Interpreter, lines: list[str] | None = None) -> None:
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

    def _needed(self: Interpreter, lines: list[str]) -> set[int] | None:
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

    def _interesting(self: Interpreter, fn: FuncInfo, lines: list[str]) -> bool:
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

    def run_summaries(self: Interpreter) -> None:
        """Summary runs only (bottom-up): what the project index keeps of a file."""
        funcs = self.facts.functions
        for fn in funcs:
            self._reaches_step(fn)
        for fn in self._bottom_up(funcs):
            if self._needs_summary(fn):
                self._summary(fn)

    def exported_summaries(self: Interpreter) -> dict[str, Summary]:
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

    def _reaches_step(self: Interpreter, fn: FuncInfo, seen: set[int] | None = None) -> bool:
        key = id(fn.node)
        if key in self.memo.reaches_step:
            return self.memo.reaches_step[key]
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
        self.memo.reaches_step[key] = result
        return result

    def _static_callee(self: Interpreter, caller: FuncInfo | None, name: str) -> FuncInfo | None:
        """The function of this file a call of ``name`` in ``caller`` runs, if we see it.
        A pure function of the facts: memoised (asked for every call at every stage)."""
        memo_key = (id(caller.node) if caller is not None else 0, name)
        memo = self.memo.callee
        if memo_key in memo:
            return memo[memo_key]
        found = memo[memo_key] = self._find_static_callee(caller, name)
        return found

    def _find_static_callee(self: Interpreter,
                            caller: FuncInfo | None, name: str) -> FuncInfo | None:
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

    def _is_contextmanager(self: Interpreter, fn: FuncInfo) -> bool:
        for dec in fn.node.decorator_list:
            name = dotted(dec) or ""
            if name.endswith("contextmanager"):
                return True
        return False

    def _summary(self: Interpreter, fn: FuncInfo) -> Summary:
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
        self._in_progress.add(key)
        try:
            self._run_function(fn, main=False)   # a run of its own, on top of the caller's
        finally:
            self._in_progress.discard(key)
        return self.summaries.get(key, default)

    def _trivial(self: Interpreter, fn: FuncInfo) -> bool:
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

    def _class_of(self: Interpreter, fn: FuncInfo) -> str | None:
        while fn.parent is not None:
            fn = fn.parent
        return fn.class_name

    def _needs_summary(self: Interpreter, fn: FuncInfo) -> bool:
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

    def _bottom_up(self: Interpreter, funcs: list[FuncInfo]) -> list[FuncInfo]:
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

    def _top_down(self: Interpreter, funcs: list[FuncInfo]) -> list[FuncInfo]:
        order = list(reversed(self._bottom_up(funcs)))
        # methods with no caller take their self.* state from __init__: run __init__ first
        inits = [f for f in order if f.name == "__init__"]
        rest = [f for f in order if f.name != "__init__"]
        return inits + rest

    # ------------------------------------------------------------------ runs

    @contextmanager
    def _running(self: Interpreter, fn: FuncInfo | None, ctx: FuncCtx, main: bool,
                 grad: frozenset[GradState], lgrad: frozenset[GradState]
                 ) -> Iterator[FunctionRun]:
        """A run of ``fn`` from the given grad state: the current run while it lasts (a
        summary run started inside another run suspends it). Only a main run records
        events; a summary run's go to the null sink."""
        run = FunctionRun(fn, main, State({}, {}, grad, lgrad, {}),
                          self.events if main else NULL_SINK, ctx)
        run.frames = Frames(run, self)
        self._runs.append(self.run)
        self.run = run
        try:
            yield run
        finally:
            self.run = self._runs.pop()
            del run.frames   # the binder refers back to the run: no cycle outlives it

    def _run_module(self: Interpreter) -> None:
        ctx = FuncCtx("<module>", self.tree, None, False, self.facts.module_gradient_use,
                      self.is_test_file, False, False,
                      self.facts.module_step or self.facts.module_backward)
        with self._running(None, ctx, True, frozenset({GRAD_ON}), frozenset({GRAD_ON})):
            self._block_safe(self.tree.body)

    def _func_ctx(self: Interpreter, fn: FuncInfo) -> FuncCtx:
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

    def _looks_like_pytest(self: Interpreter, fn: FuncInfo) -> bool:
        for dec in fn.node.decorator_list:
            name = dotted(dec.func if isinstance(dec, ast.Call) else dec) or ""
            if name.startswith("pytest."):
                return True
        return False

    def method_grad_off(self: Interpreter, cls: str | None, method: str) -> bool:
        """``cls.method`` of this file is decorated to run without grad (``@torch.no_grad()``
        on a ``forward``, YOLOv5's ``@smart_inference_mode()``): calls record no graph."""
        info = self.facts.classes.get(cls) if cls else None
        if info is None and cls:
            return self._other_file_grad_off(cls, method)
        node = info.methods.get(method) if info is not None else None
        fn = self.facts.by_node.get(id(node)) if node is not None else None
        return fn is not None and self._grad_decorator(fn) == GRAD_OFF

    def may_run_grad_off(self: Interpreter, ev: ForwardEvent, method: str) -> bool:
        """Does the called method of some class the model may have disable grad itself?
        (``model = _create(...)`` may be an ``AutoShape``, whose forward runs under
        ``@smart_inference_mode()``; TM002 then has a path with no graph, as with grad
        states merged over branches.)"""
        classes = (ev.class_name, *self.maybe_classes.get((id(ev.func.node), ev.canonical), ()))
        return any(cls and self.method_grad_off(cls, method) for cls in classes)

    def _other_file_grad_off(self: Interpreter, cls: str, method: str) -> bool:
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

    def _return_classes(self: Interpreter, fn: FuncInfo) -> tuple[str, ...]:
        """Every class a model returned by ``fn`` may be built from."""
        found: set[str] = set()
        key = id(fn.node)
        for value in self.run.return_values:
            if isinstance(value, New) and value.cls:
                found.add(value.cls)
            elif isinstance(value, Ent):
                found |= self.assigned_classes.get((key, value.key.split(".", 1)[0]), set())
                found.update(self.maybe_classes.get((key, value.canonical), ()))
        return tuple(sorted(found))

    def _note_factory_classes(self: Interpreter, stmt: ast.Assign) -> None:
        """``model = _create(...)``: the classes the factory's result may have;
        ``model = AutoShape(model)``: a class this name may hold (by its qualified name,
        resolved or not: the file's summary is made without the other files)."""
        if self.run.ctx is None or self.run.state is None:
            return
        scope = id(self.run.ctx.node)
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

    def _grad_decorator(self: Interpreter, fn: FuncInfo) -> GradState | None:
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

    def _project_grad_off(self: Interpreter, target: ast.expr, qual: str) -> bool:
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

    def _entry_grad(self: Interpreter, fn: FuncInfo, main: bool, dec: GradState | None
                    ) -> frozenset[GradState]:
        """The grad state ``fn`` starts in: its decorator's, else (main run) what all its
        callers pass when we see them all, else unknown."""
        if not main:
            return frozenset({dec or GRAD_UNK})
        record = self._record(fn)
        if dec is not None:
            return frozenset({dec})
        if record is not None and record.grad and not self._unknown_callers(fn):
            return frozenset(record.grad)
        return frozenset({GRAD_UNK})

    def _run_function(self: Interpreter, fn: FuncInfo, main: bool) -> None:
        dec = self._grad_decorator(fn)
        grad = self._entry_grad(fn, main, dec)
        lgrad = frozenset({dec}) if dec in (GRAD_OFF, GRAD_ON) else frozenset({GRAD_ON})
        with self._running(fn, self._func_ctx(fn), main, grad, lgrad) as run:
            self._block_safe(fn.node.body)
            final = run.frames.exit_state()
            if final is None:
                if not main:
                    self.summaries[id(fn.node)] = Summary(
                        reaches_step=self._reaches_step(fn), params=fn.params, name=fn.name,
                        line=fn.node.lineno - 1)
                return
            if not main:
                self._make_summary(fn, final)
        if main and fn.name == "__init__" and fn.class_name is not None:
            self.init_state[fn.class_name] = {
                k: self._lookup(final, resolve_alias(final.alias, k)) or frozenset()
                for k in self_keys(final)}
            for k in self_keys(final):
                cls = self.classes_of.get(resolve_alias(final.alias, k))
                if cls:
                    self.init_classes.setdefault(fn.class_name, {})[k] = cls

    def _block_safe(self: Interpreter, body: list[ast.stmt]) -> None:
        try:
            self._block(body)
        except Budget:
            self.stopped_early.add(("statement budget reached", self._where()))
            self.run.state = None

    def _where(self: Interpreter) -> str:
        return f"{self.run.fn.qualname}()" if self.run.fn is not None else "<module>"

    def _effects(self: Interpreter,
                 fn: FuncInfo, state: State, keep: Iterable[str] = ()) -> dict[str, Modes]:
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

    def _make_summary(self: Interpreter, fn: FuncInfo, final: State) -> None:
        enter: dict[str, Modes] | None = None
        if self.run.yield_states and self._is_contextmanager(fn):
            at_yield = self.run.frames.join_all(self.run.yield_states)
            if at_yield is not None:
                enter = self._effects(fn, at_yield)
        effects = self._effects(fn, final, enter or ())
        returns: Value = None
        if self.run.return_values and all(isinstance(v, New) for v in self.run.return_values):
            merged: set[Mode] = set()
            for v in self.run.return_values:
                assert isinstance(v, New)
                merged |= v.modes
            first = self.run.return_values[0]
            assert isinstance(first, New)
            returns = New(frozenset(merged), first.cls, first.loaded)
        elif self.run.return_values and all(isinstance(v, Ent) for v in self.run.return_values):
            first_ent = self.run.return_values[0]
            assert isinstance(first_ent, Ent)
            if all(v == first_ent for v in self.run.return_values) and \
                    first_ent.canonical.split(".")[0] in fn.params:
                returns = first_ent
        self.summaries[id(fn.node)] = Summary(effects, self._reaches_step(fn), returns, fn.params,
                                              fn.name, fn.node.lineno - 1, enter,
                                              self._return_classes(fn))
        cls = self._class_of(fn)
        if cls is not None and fn.name != "__init__":
            self.class_mutated.setdefault(cls, set()).update(
                k for k in effects if k.startswith("self."))

    def _record(self: Interpreter, fn: FuncInfo) -> CallRecord | None:
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

    def caller_wanting_functions(self: Interpreter, lines: list[str],
                                 eval_func_patterns: tuple[str, ...]) -> frozenset[str]:
        """The top-level functions whose analysis asks the other files what they pass:
        what the project solver computes call records for (same test as ``_record``)."""
        self.lines, self.eval_func_patterns = lines, eval_func_patterns
        return frozenset(fn.qualname for fn in self.facts.functions if self._wants_callers(fn))

    def _wants_callers(self: Interpreter, fn: FuncInfo) -> bool:
        return fn.parent is None and fn.class_name is None and self._module_params(fn) and \
            self._worth_callers(fn)

    def _module_params(self: Interpreter, fn: FuncInfo) -> bool:
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

    def _worth_callers(self: Interpreter, fn: FuncInfo) -> bool:
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

    def _unknown_callers(self: Interpreter, fn: FuncInfo) -> bool:
        """Could ``fn`` be called from somewhere we do not see? (Memoised: a function of
        the file's facts only.)"""
        found = self.memo.unknown_callers.get(id(fn.node))
        if found is None:
            found = self.memo.unknown_callers[id(fn.node)] = self._find_unknown_callers(fn)
        return found

    def _find_unknown_callers(self: Interpreter, fn: FuncInfo) -> bool:
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
