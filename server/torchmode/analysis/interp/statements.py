"""Statements and control flow of the mode interpreter.

Looking an entity's modes up in a state, joining the states of branches, and walking
``if``/``else``, loops (iterated to a fixed point so an ``eval()`` at the end of epoch N
reaches epoch N+1), ``with`` (grad contexts, ``@contextmanager`` functions), ``try``
with its handlers and ``finally``, ``return``, ``break`` and ``continue``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..domain import (
    ENTRY_MODES,
    KEEP,
    MAX_LOOP_ITERATIONS,
    UNKNOWN_PARAM,
    Budget,
    Ent,
    GradCtx,
    LoopCtx,
    Modes,
    State,
    Summary,
    key_splits,
    record_lookup,
    resolve_alias,
)
from ..model import (
    EVAL,
    GRAD_DYN,
    GRAD_OFF,
    GRAD_ON,
    TRAIN,
    MisuseKind,
    Mode,
)
from ..names import (
    GRAD_OFF_CTX,
    GRAD_ON_CTX,
    SET_GRAD,
    dotted,
    entity_key,
    is_eval_loader_name,
)
from .syntax import (
    child_nodes,
    const_truth,
    grad_of_flag,
    guard_names,
    iter_name,
)

if TYPE_CHECKING:
    from ..flow import Interpreter

    # The methods of this part run on the composed Interpreter (their ``self``
    # annotation); an ``Any`` base lets the type checker accept that annotation.
    Part: Any = object
else:
    Part = object


class Statements(Part):
    """Statements and control flow of the mode interpreter. A part of ``Interpreter``
    (flow.py): its methods run on the interpreter's state.
    """

    # ------------------------------------------------------------------ lookup

    def _initial(self: Interpreter, canonical: str) -> Modes | None:
        """Mode of a name never assigned in this run: from callers, __init__, or ENTRY."""
        if "@" in canonical:
            return None
        if canonical in self.run.entry:
            return self.run.entry[canonical]
        fn = self.run.fn
        root = canonical.split(".", 1)[0]
        result: Modes | None = None
        if fn is None:
            result = None
        elif not self.run.main:
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
        self.run.entry[canonical] = result if result is not None else frozenset()
        return result

    def _touches_mutated(self: Interpreter, cls: str, canonical: str) -> bool:
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

    def _lookup(self: Interpreter, state: State, canonical: str) -> Modes | None:
        modes = state.modes.get(canonical)
        if modes is not None:
            return modes
        splits = key_splits(canonical) if "." in canonical else ()
        for prefix, _ in splits:
            found = state.modes.get(prefix)
            if found is not None:
                return found
        entry = self.run.entry   # _initial's memo (a key with "@" is never in it)
        initial = entry[canonical] if canonical in entry else self._initial(canonical)
        if initial:
            return initial
        for prefix, _ in splits:
            initial = entry[prefix] if prefix in entry else self._initial(prefix)
            if initial:
                return initial
        return None

    def _join(self: Interpreter, a: State | None, b: State | None) -> State:
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

    def _join_all(self: Interpreter, states: Iterable[State | None]) -> State | None:
        result: State | None = None
        for s in states:
            if s is None:
                continue
            result = s.copy() if result is None else self._join(result, s)
        return result

    # ------------------------------------------------------------------ statements

    def _block(self: Interpreter, body: list[ast.stmt]) -> None:
        for stmt in body:
            if self.run.state is None:
                return
            self.budget -= 1
            if self.budget < 0:
                raise Budget
            self.run.stmts.append(stmt)
            try:
                self._stmt(stmt)
            finally:
                self.run.stmts.pop()

    def _stmt(self: Interpreter, stmt: ast.stmt) -> None:
        tp = type(stmt)
        if tp is ast.Expr:
            assert isinstance(stmt, ast.Expr)
            self._expr_stmt(stmt)
        elif tp is ast.Assign or tp is ast.AnnAssign or tp is ast.AugAssign:
            self._assign_stmt(stmt)
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
        elif tp is ast.Return or tp is ast.Raise or tp is ast.Break or tp is ast.Continue:
            self._exit_stmt(stmt)
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

    def _assign_stmt(self: Interpreter, stmt: ast.stmt) -> None:
        """``x = ...``, ``x: T = ...`` and ``x += ...``."""
        if isinstance(stmt, ast.Assign):
            value = self._expr(stmt.value)
            for target in stmt.targets:
                self._assign(target, value, stmt)
            if isinstance(stmt.value, ast.Call):
                self._note_factory_classes(stmt)
                if self.run.main:
                    self._note_trainer(stmt)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self._assign(stmt.target, self._expr(stmt.value), stmt)
        elif isinstance(stmt, ast.AugAssign):
            self._expr(stmt.value)

    def _exit_stmt(self: Interpreter, stmt: ast.stmt) -> None:
        """``return``, ``raise``, ``break`` and ``continue``: this path ends here. Its state
        joins the function's returns, or the loop's breaks or continues."""
        if isinstance(stmt, ast.Return):
            value = self._expr(stmt.value) if stmt.value is not None else None
            self.run.return_values.append(value)
            if self.run.state is not None:
                self.run.returns.append(self.run.state)
        elif isinstance(stmt, ast.Raise):
            if stmt.exc is not None:
                self._expr(stmt.exc)
        elif isinstance(stmt, ast.Break):
            if self.run.loops and self.run.state is not None:
                self.run.loops[-1].breaks.append(self.run.state)
        elif self.run.loops and self.run.state is not None:   # continue
            self.run.loops[-1].continues.append(self.run.state)
        self.run.state = None

    def _expr_stmt(self: Interpreter, stmt: ast.Expr) -> None:
        value = stmt.value
        if isinstance(value, ast.Attribute) and value.attr in ("eval", "train"):
            key = self._ekey(value.value)
            if key is not None:
                # TM004: bare m.eval / m.train; track the intended mode
                self.run.sink.misuse(MisuseKind.MODE_NOT_CALLED, value, stmt, key, value.attr)
                canonical = self._canonical(key)
                self._set_mode(canonical, EVAL if value.attr == "eval" else TRAIN, stmt,
                               f"{key}.{value.attr}", flagged=True)
                return
        self._expr(value)

    def _if(self: Interpreter, stmt: ast.If) -> None:
        self._expr(stmt.test)
        if self.run.state is None:
            return
        const = const_truth(stmt.test)
        before = self.run.state
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
            self.run.state = before.copy()
            self.run.guards.append((test, True, names) if names is not None else None)
            try:
                self._block(stmt.body)
            finally:
                self.run.guards.pop()
            results.append(self.run.state)
        if const is not True:
            self.run.state = before.copy()
            self.run.guards.append((test, False, names) if names is not None else None)
            not_module = self._isinstance_module(test)
            if not_module:
                self.not_modules.append(not_module)
            try:
                self._block(stmt.orelse)
            finally:
                self.run.guards.pop()
                if not_module:
                    self.not_modules.pop()
            results.append(self.run.state)
        if names is not None and len(results) == 2:
            self._tag_branches(test, names, results[0], results[1])
            self._tag_not_module(test, names, results[1])
        self.run.state = self._join_all(results)

    def _isinstance_module(self: Interpreter, test: ast.expr) -> str | None:
        """``isinstance(net, nn.Module)``: the name that is not a module in the else branch."""
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and \
                test.func.id == "isinstance" and len(test.args) == 2 and \
                isinstance(test.args[0], ast.Name) and \
                self._qual(test.args[1]) in ("torch.nn.Module", "torch.nn.modules.module.Module"):
            return test.args[0].id
        return None

    def _tag_not_module(self: Interpreter,
                        test: ast.expr, names: frozenset[str], skipped: State | None
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
            self.run.guard_used = True

    def _tag_branches(self: Interpreter, test: ast.expr, names: frozenset[str], taken: State | None,
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
                    self.run.guard_used = True

    def _branches(self: Interpreter, bodies: list[list[ast.stmt]], fallthrough: bool) -> None:
        if self.run.state is None:
            return
        before = self.run.state
        results: list[State | None] = [before] if fallthrough else []
        for body in bodies:
            self.run.state = before.copy()
            self._block(body)
            results.append(self.run.state)
        self.run.state = self._join_all(results)

    def _loop(self: Interpreter, stmt: ast.For | ast.AsyncFor | ast.While) -> None:
        is_for = not isinstance(stmt, ast.While)
        if is_for:
            assert isinstance(stmt, (ast.For, ast.AsyncFor))
            self._expr(stmt.iter)
            if is_eval_loader_name(iter_name(stmt.iter), self.eval_loader_patterns):
                self.run.sink.eval_loop(stmt)
        if self.run.state is None:
            return
        if is_for and self._unroll(stmt):  # type: ignore[arg-type]
            return
        head = self.run.state.copy()
        ctx = LoopCtx()
        self.run.loops.append(ctx)
        try:
            for iteration in range(MAX_LOOP_ITERATIONS):
                self.run.state = head.copy()
                if is_for:
                    assert isinstance(stmt, (ast.For, ast.AsyncFor))
                    self._assign(stmt.target, None, stmt)
                else:
                    assert isinstance(stmt, ast.While)
                    self._expr(stmt.test)
                self._block(stmt.body)
                end = self._join_all([self.run.state, *ctx.continues])
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
            self.run.loops.pop()
        infinite = isinstance(stmt, ast.While) and const_truth(stmt.test) is True
        self.run.state = None if infinite else head
        if self.run.state is not None and stmt.orelse:
            self._block(stmt.orelse)
        self.run.state = self._join_all([self.run.state, *ctx.breaks])

    def _unroll(self: Interpreter, stmt: ast.For | ast.AsyncFor) -> bool:
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
        self.run.loops.append(ctx)
        try:
            for value in values:
                if self.run.state is None:
                    break
                self._assign(stmt.target, value, stmt)
                self._block(stmt.body)
                self.run.state = self._join_all([self.run.state, *ctx.continues])
                ctx.continues.clear()
        finally:
            self.run.loops.pop()
        self.run.state = self._join_all([self.run.state, *ctx.breaks])
        return True

    def _contextmanager_call(self: Interpreter, node: ast.expr) -> Callable[[], None] | None:
        """``with evaluating(model):`` of a local @contextmanager: apply the effect up to its
        ``yield`` now; return what restores at the end of the block."""
        if not isinstance(node, ast.Call):
            return None
        name = self._dotted(node.func)
        callee = self._static_callee(self.run.fn, name) if name else None
        if callee is None or not self._is_contextmanager(callee):
            return None
        args = self._args(node)
        summary = self._summary(callee)
        if summary.enter_effects is None or self.run.state is None:
            return None
        before = self.run.state.copy()
        params = callee.params[1:] if callee.class_name is not None else list(callee.params)
        enter = Summary(summary.enter_effects, False, None, summary.params, summary.name,
                        summary.line)
        self._apply_summary(node, enter, args, params)

        def finish() -> None:
            if self.run.state is None:
                return
            exit_summary = Summary(summary.effects, False, None, summary.params, summary.name,
                                   summary.line)
            self._apply_summary(node, exit_summary, args, params, entry_state=before)

        return finish

    def _with(self: Interpreter, stmt: ast.With | ast.AsyncWith) -> None:
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
        if self.run.state is None:
            return
        if grad_values is None:
            self._block(stmt.body)
            for exit_effect in reversed(exits):
                exit_effect()
            return
        if grad_values == {GRAD_OFF}:
            self.run.sink.nograd_with(stmt)
        saved_grad, saved_lgrad = self.run.state.grad, self.run.state.lgrad
        keep = KEEP in grad_values
        self.run.state.grad = (grad_values - {KEEP}) | (saved_grad if keep else frozenset())
        self.run.state.lgrad = (grad_values - {KEEP}) | (saved_lgrad if keep else frozenset())
        marks = [(len(c.breaks), len(c.continues)) for c in self.run.loops]
        self._block(stmt.body)
        for (nb, nc), loop in zip(marks, self.run.loops, strict=False):
            for s in (*loop.breaks[nb:], *loop.continues[nc:]):
                s.grad, s.lgrad = saved_grad, saved_lgrad
        if self.run.state is not None:
            self.run.state.grad, self.run.state.lgrad = saved_grad, saved_lgrad
        for exit_effect in reversed(exits):
            exit_effect()

    def _grad_ctx(self: Interpreter, node: ast.expr, stmt: ast.stmt) -> str | None:
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
            self.run.sink.misuse(MisuseKind.CONTEXT_NOT_CALLED, node, stmt, dotted(node) or "",
                                 qual.rsplit(".", 1)[-1])
            return GRAD_ON if qual == "torch.enable_grad" else GRAD_OFF
        return None

    def _try(self: Interpreter, stmt: ast.Try) -> None:
        if self.run.state is None:
            return
        loop_marks = [(len(c.breaks), len(c.continues)) for c in self.run.loops]
        n_returns = len(self.run.returns)
        seen: list[State] = [self.run.state.copy()]
        for sub in stmt.body:
            if self.run.state is None:
                break
            self._block([sub])
            if self.run.state is not None:
                seen.append(self.run.state.copy())
        body_end = self.run.state
        if stmt.orelse and body_end is not None:
            self._block(stmt.orelse)
            body_end = self.run.state
        handler_entry = self._join_all(seen)
        outs: list[State | None] = [body_end]
        for handler in stmt.handlers:
            self.run.state = handler_entry.copy() if handler_entry is not None else None
            if handler.type is not None and self.run.state is not None:
                self._expr(handler.type)
            self._block(handler.body)
            outs.append(self.run.state)
        normal = self._join_all(outs)
        if not stmt.finalbody:
            self.run.state = normal
            return
        # abrupt exits (return/break/continue) pass through ``finally`` too
        pending_returns = self.run.returns[n_returns:]
        del self.run.returns[n_returns:]
        if pending_returns:
            self.run.state = self._join_all(pending_returns)
            self._block(stmt.finalbody)
            if self.run.state is not None:
                self.run.returns.append(self.run.state)
        for (nb, nc), loop in zip(loop_marks, self.run.loops, strict=False):
            for lst, mark in ((loop.breaks, nb), (loop.continues, nc)):
                pending = lst[mark:]
                if pending:
                    del lst[mark:]
                    self.run.state = self._join_all(pending)
                    self._block(stmt.finalbody)
                    if self.run.state is not None:
                        lst.append(self.run.state)
        self.run.state = normal if normal is not None else (
            handler_entry.copy() if handler_entry is not None and not stmt.handlers else None)
        if self.run.state is not None:
            self._block(stmt.finalbody)
