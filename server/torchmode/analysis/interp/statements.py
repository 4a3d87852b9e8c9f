"""Statements and control flow of the mode interpreter.

Looking an entity's modes up in a state, and walking the statements: each kind has its
handler (``_STATEMENTS``). Control flow (``if``/``else``, ``match``, loops, grad-mode
``with``, ``try`` with its handlers and ``finally``, ``return``, ``break``,
``continue``, ``raise``) only opens and closes frames of the binder (``frames.py``),
which carries the states of jumps and joins the states that meet.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..domain import (
    ENTRY_MODES,
    UNKNOWN_PARAM,
    Budget,
    Ent,
    GradCtx,
    GradCtxValue,
    Modes,
    State,
    Summary,
    key_splits,
    record_lookup,
)
from ..facts import FuncInfo
from ..model import (
    EVAL,
    GRAD_DYN,
    GRAD_OFF,
    GRAD_ON,
    TRAIN,
    GradState,
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
from .frames import Exit
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
        result: Modes | None = None
        if fn is not None and canonical.split(".", 1)[0] not in fn.locals:
            result = self._initial_from_callers(fn, canonical) if self.run.main else ENTRY_MODES
        self.run.entry[canonical] = result if result is not None else frozenset()
        return result

    def _initial_from_callers(self: Interpreter, fn: FuncInfo, canonical: str) -> Modes | None:
        """Main run: what the visible callers pass (with UNKNOWN if some callers are not
        visible), or for ``self.*`` what ``__init__`` leaves. None for a parameter with no
        record: the entity checks (its static use) decide, and it stays unknown."""
        record = self._record(fn)
        unknown_callers = self._unknown_callers(fn)
        found = record_lookup(record.modes, canonical) if record is not None else None
        if found is None and canonical.split(".", 1)[0] == "self":
            found = self._initial_from_init(fn, canonical)
        if found is None:
            return None
        return frozenset(found | ({UNKNOWN_PARAM} if unknown_callers else set()))

    def _initial_from_init(self: Interpreter, fn: FuncInfo, canonical: str) -> set[Mode] | None:
        """A method's ``self.*`` entity: its mode at the end of ``__init__``, unless other
        methods change it (then any mode: UNKNOWN), or None if ``__init__`` never sets it."""
        cls = self._class_of(fn)
        if cls is None or fn.name == "__init__":
            return None
        init = self.init_state.get(cls, {})
        if not self._touches_mutated(cls, canonical):
            init_modes = record_lookup(init, canonical)
            if init_modes:
                return init_modes
        if canonical != "self" and (canonical in init or any(
                k.startswith(canonical + ".") for k in init)):
            return {UNKNOWN_PARAM}
        return None

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
        handler = _STATEMENTS.get(type(stmt), _OTHER)
        if handler is not None:
            handler(self, stmt)

    def _other_stmt(self: Interpreter, stmt: ast.stmt) -> None:
        """A statement with no handler of its own: evaluate the expressions in it."""
        for child in child_nodes(stmt):
            if isinstance(child, ast.expr):
                self._expr(child)

    def _assert(self: Interpreter, stmt: ast.Assert) -> None:
        self._expr(stmt.test)

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

    def _return(self: Interpreter, stmt: ast.Return) -> None:
        value = self._expr(stmt.value) if stmt.value is not None else None
        self.run.return_values.append(value)
        self.run.frames.leave(Exit.RETURN)

    def _raise(self: Interpreter, stmt: ast.Raise) -> None:
        if stmt.exc is not None:
            self._expr(stmt.exc)
        self.run.frames.unreachable()

    def _break(self: Interpreter, stmt: ast.Break) -> None:
        self.run.frames.leave(Exit.BREAK)

    def _continue(self: Interpreter, stmt: ast.Continue) -> None:
        self.run.frames.leave(Exit.CONTINUE)

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
        test = stmt.test
        self._expr(test)
        if self.run.state is None:
            return
        const = const_truth(test)
        test_id = id(test)
        if test_id in self._guard_cache:
            names = self._guard_cache[test_id]
        else:
            names = self._guard_cache[test_id] = guard_names(test)
        if names is not None:
            self.guard_vars |= names
        with self.run.frames.branches() as fork:
            if const is not False:
                with fork.arm():
                    self._guarded_block(stmt.body, (test, True, names) if names is not None
                                        else None, None)
            if const is not True:
                with fork.arm():
                    self._guarded_block(stmt.orelse, (test, False, names) if names is not None
                                        else None, self._isinstance_module(test))
            if names is not None and len(fork.ends) == 2:
                self._tag_branches(test, names, fork.ends[0], fork.ends[1])
                self._tag_not_module(test, names, fork.ends[1])

    def _guarded_block(self: Interpreter, body: list[ast.stmt],
                       guard: tuple[ast.expr, bool, frozenset[str]] | None,
                       not_module: str | None) -> None:
        """An arm of an ``if``, under its condition (and, in the else of an ``isinstance``
        test against ``nn.Module``, knowing that name is not a module)."""
        self.run.guards.append(guard)
        if not_module:
            self.not_modules.append(not_module)
        try:
            self._block(body)
        finally:
            self.run.guards.pop()
            if not_module:
                self.not_modules.pop()

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

    def _match(self: Interpreter, stmt: ast.Match) -> None:
        self._expr(stmt.subject)
        if self.run.state is None:
            return
        with self.run.frames.branches(can_skip=True) as fork:
            for case in stmt.cases:
                with fork.arm():
                    self._block(case.body)

    def _loop(self: Interpreter, stmt: ast.For | ast.AsyncFor | ast.While) -> None:
        if not isinstance(stmt, ast.While):
            self._expr(stmt.iter)
            if is_eval_loader_name(iter_name(stmt.iter), self.eval_loader_patterns):
                self.run.sink.eval_loop(stmt)
        if self.run.state is None:
            return
        if not isinstance(stmt, ast.While) and self._unroll(stmt):
            return
        infinite = isinstance(stmt, ast.While) and const_truth(stmt.test) is True
        with self.run.frames.loop() as loop:
            for _ in loop.passes(exits_at_head=not infinite):
                if isinstance(stmt, ast.While):
                    self._expr(stmt.test)
                else:
                    self._assign(stmt.target, None, stmt)
                self._block(stmt.body)
            if loop.capped:
                self.stopped_early.add(("loop iteration cap reached",
                                        f"loop at line {stmt.lineno} in {self._where()}"))
            self._block(stmt.orelse)

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
        with self.run.frames.loop() as loop:
            for value in loop.unrolled(values):
                self._assign(stmt.target, value, stmt)
                self._block(stmt.body)
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
        grad_values: frozenset[GradCtxValue] | None = None
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
        else:
            if grad_values == {GRAD_OFF}:
                self.run.sink.nograd_with(stmt)
            with self.run.frames.grad_context(grad_values):
                self._block(stmt.body)
        for exit_effect in reversed(exits):
            exit_effect()

    def _grad_ctx(self: Interpreter, node: ast.expr, stmt: ast.stmt) -> GradState | None:
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
        with self.run.frames.try_frame(has_finally=bool(stmt.finalbody)) as tried:
            for sub in tried.body(stmt.body):
                self._block([sub])
            self._block(stmt.orelse)
            for handler in tried.handlers(stmt.handlers):
                if handler.type is not None and self.run.state is not None:
                    self._expr(handler.type)
                self._block(handler.body)
            for _ in tried.finally_passes():
                self._block(stmt.finalbody)


# The handler of each kind of statement (``Statements._stmt``); any other kind has its
# expressions evaluated (``_other_stmt``). None: nothing to do (imports, ``pass``,
# ``del``, declarations; nested functions and classes are analysed on their own).
_OTHER = Statements._other_stmt
_STATEMENTS: dict[type[ast.stmt], Callable[[Interpreter, Any], None] | None] = {
    ast.Expr: Statements._expr_stmt,
    ast.Assign: Statements._assign_stmt,
    ast.AnnAssign: Statements._assign_stmt,
    ast.AugAssign: Statements._assign_stmt,
    ast.If: Statements._if,
    ast.For: Statements._loop,
    ast.AsyncFor: Statements._loop,
    ast.While: Statements._loop,
    ast.With: Statements._with,
    ast.AsyncWith: Statements._with,
    ast.Try: Statements._try,
    ast.Return: Statements._return,
    ast.Raise: Statements._raise,
    ast.Break: Statements._break,
    ast.Continue: Statements._continue,
    ast.Match: Statements._match,
    ast.Assert: Statements._assert,
    **dict.fromkeys((ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Delete,
                     ast.Import, ast.ImportFrom, ast.Pass, ast.Global, ast.Nonlocal),
                    None),
}
if hasattr(ast, "TryStar"):   # Python 3.11+: ``except*`` flows like ``except``
    _STATEMENTS[ast.TryStar] = Statements._try
