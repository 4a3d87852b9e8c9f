"""Assignments and expressions of the mode interpreter.

What an assignment does to aliases and entities, setting and filtering an entity's
modes under the enclosing conditions (guards), which names are models, and the value
of an expression (``Value``), including occurrences of models that rules read.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..domain import (
    ENTRY_MODES,
    KEEP,
    Ent,
    Flag,
    GradCtx,
    Modes,
    New,
    State,
    Tup,
    Value,
    resolve_alias,
)
from ..model import (
    DYNAMIC,
    ENTRY,
    EVAL,
    TRAIN,
    UNKNOWN,
    FuncCtx,
    MisuseKind,
    Mode,
    ModeKind,
)
from ..names import (
    SPOT_TENSOR_FUNCS,
    is_eval_loader_name,
    looks_like_model_name,
)
from ..torch_api import (
    TENSOR_CASTS,
    VERB_PREFIX,
)
from .syntax import (
    child_nodes,
    const_truth,
    iter_name,
    target_names,
)

# Attributes whose assignment replaces a module's mode flag or mode switch.
MODE_ATTRS = ("training", "eval", "train")
# Methods whose own ``self.training = ...`` implements a mode switch or restores state.
MODE_IMPL_METHODS = ("train", "eval", "__init__", "__setstate__", "requires_grad_")

if TYPE_CHECKING:
    from ..flow import Interpreter

    # The methods of this part run on the composed Interpreter (their ``self``
    # annotation); an ``Any`` base lets the type checker accept that annotation.
    Part: Any = object
else:
    Part = object


class Values(Part):
    """Assignments and expressions of the mode interpreter. A part of ``Interpreter``
    (flow.py): its methods run on the interpreter's state.
    """

    # ------------------------------------------------------------------ assignment

    def _canonical(self: Interpreter, key: str) -> str:
        assert self.run.state is not None
        return resolve_alias(self.run.state.alias, key)

    def _assign(self: Interpreter, target: ast.expr, value: Value, stmt: ast.stmt) -> None:
        """Bind ``value`` to ``target`` (a name, attribute chain, unpacking or item)."""
        state = self.run.state
        if state is None:
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            self._assign_unpacked(target, value, stmt)
        elif isinstance(target, ast.Attribute) and target.attr in MODE_ATTRS:
            self._assign_mode_attr(target, stmt)
        elif isinstance(target, ast.Subscript):
            self._expr(target.value)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, None, stmt)
        else:
            self._assign_key(target, value, stmt, state)

    def _assign_unpacked(self: Interpreter, target: ast.Tuple | ast.List, value: Value,
                         stmt: ast.stmt) -> None:
        """``a, b = x, y``: each element gets its item of a known tuple; a starred element
        (and any element of an unknown value) gets no value."""
        items = value.items if isinstance(value, Tup) else ()
        for i, elt in enumerate(target.elts):
            sub = items[i] if i < len(items) and not isinstance(elt, ast.Starred) else None
            self._assign(elt.value if isinstance(elt, ast.Starred) else elt, sub, stmt)

    def _assign_mode_attr(self: Interpreter, target: ast.Attribute, stmt: ast.stmt) -> None:
        """``m.training = ...`` / ``m.eval = ...`` on a model: a misuse to report and, for
        ``training``, a mode set (constant) or a dynamic one."""
        key = self._ekey(target.value)
        if key is None or self._mode_attr_exempt(key, stmt) or \
                not self._is_entity_key(key, assigning=True):
            return
        value_node = getattr(stmt, "value", None)
        self.run.sink.misuse(
            MisuseKind.FLAG_ASSIGNED if target.attr == "training" else
            MisuseKind.MODE_METHOD_REPLACED, target, stmt, key, target.attr, value_node)
        if target.attr == "training":
            truth = const_truth(value_node)
            kind = DYNAMIC if truth is None else (TRAIN if truth else EVAL)
            self._set_mode(self._canonical(key), kind, stmt, f"{key}.training = ...",
                           flagged=True, children=False)

    def _mode_attr_exempt(self: Interpreter, key: str, stmt: ast.stmt) -> bool:
        """Assignments to ``training``/``train``/``eval`` that are no misuse: inside the
        implementation of the switch itself, copying another module's flag onto a
        replacement layer, restoring each module of ``model.modules()`` in a loop, and a
        trainer's own ``training`` flag (Lightning/HF trainers are not modules)."""
        if key == "self" and self.run.ctx is not None and self.run.ctx.name in MODE_IMPL_METHODS:
            return True
        value_node = getattr(stmt, "value", None)
        if isinstance(value_node, ast.Attribute) and value_node.attr == "training":
            return True
        root = key.split(".", 1)[0]
        if any(isinstance(s, (ast.For, ast.AsyncFor)) and root in target_names(s.target)
               for s in self.run.stmts):
            return True
        return "trainer" in key.rsplit(".", 1)[-1].lower()

    def _assign_key(self: Interpreter, target: ast.expr, value: Value, stmt: ast.stmt,
                    state: State) -> None:
        """Rebind the name or attribute chain ``target``: drop its old alias and children,
        then bind what ``value`` says it is."""
        key = self._ekey(target)
        if key is None:
            return
        is_name = isinstance(target, ast.Name)
        if is_name and key in self.guard_vars and (   # a name's key is its id
                self.run.guards or (self.run.guard_used and self._guarded(state))):
            self._invalidate_guards(key)
        state.drop_alias(key)
        state.save(key, None)
        if isinstance(value, Ent):
            if value.canonical != key:
                state.set_alias(key, value.canonical)
        elif isinstance(value, New):
            self._bind_new(key, value, stmt, state)
        elif isinstance(value, (Flag, GradCtx)) and is_name:
            state.save(key, value)   # a mode snapshot or grad context to use later
        elif key in state.modes or self._is_static_entity(key):
            canonical = f"{key}@{stmt.lineno}:{stmt.col_offset}"
            state.set_alias(key, canonical)
            how = "assigned from a call we cannot see"
            state.set(canonical, frozenset({Mode(UNKNOWN, stmt.lineno - 1, 0, how)}))
        if is_name and isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            self._note_spot_tensor(key, stmt.value)

    def _bind_new(self: Interpreter, key: str, value: New, stmt: ast.stmt, state: State) -> None:
        """A model built here: a fresh entity named after the statement that builds it, so
        two models built under one name in different places stay apart."""
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
            if self.run.ctx is not None:
                self.assigned_classes.setdefault((id(self.run.ctx.node), key), set()).add(
                    value.cls)

    def _note_spot_tensor(self: Interpreter, key: str, call: ast.Call) -> None:
        """``x = torch.randn(...)``: remember the name as a tensor made on the spot, with
        the loop it was made in and whether it is a torch (not numpy) one."""
        if self._is_spot_tensor(call):
            self.spot_names[(id(self.run.ctx.node) if self.run.ctx else 0, key)] = (
                self._loop_scope(), not self._is_spot_tensor(call, numpy=False))

    # ------------------------------------------------------------------ modes

    def _guarded(self: Interpreter, state: State) -> bool:
        return any(m.guard is not None for ms in state.modes.values() for m in ms)

    def _invalidate_guards(self: Interpreter, name: str) -> None:
        """``name`` changes: conditions reading it say nothing about later paths."""
        self.run.guards = [g if g is None or name not in g[2] else None for g in self.run.guards]
        state = self.run.state
        if state is None:
            return
        for canonical, modes in list(state.modes.items()):
            if any(m.guard is not None and name in m.guard[2] for m in modes):
                state.set(canonical, frozenset(
                    replace(m, guard=None) if m.guard is not None and name in m.guard[2] else m
                    for m in modes))

    def _guard_text(self: Interpreter, test: ast.expr) -> str:
        """The condition's source text: guards of the same text are the same condition."""
        found = self._guard_texts.get(id(test))
        if found is None:
            found = self._guard_texts[id(test)] = ast.unparse(test)
        return found

    def _feasible(self: Interpreter, modes: Iterable[Mode]) -> set[Mode]:
        """Drop modes set under the opposite branch of a condition we are inside of."""
        active = {(self._guard_text(g[0]), g[1]) for g in self.run.guards if g is not None}
        if not active:
            return set(modes)
        return {m for m in modes if m.guard is None or (m.guard[0], not m.guard[1]) not in active}

    def _set_mode(self: Interpreter, canonical: str, kind: ModeKind, node: ast.AST, how: str,
                  flagged: bool = False, children: bool = True,
                  param_flag: str | None = None, method_call: bool = False) -> None:
        state = self.run.state
        if state is None:
            return
        line = node.lineno - 1  # type: ignore[attr-defined]
        raw = self.run.guards[-1] if self.run.guards else None
        guard = None
        if raw is not None:
            guard = (self._guard_text(raw[0]), raw[1], raw[2])
            self.run.guard_used = True
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
        if kind in (EVAL, TRAIN) and not flagged:
            assert self.run.ctx is not None
            self.run.sink.mode_set(node, kind, canonical, self.run.ctx, self.run.stmts)

    def _is_static_entity(self: Interpreter, key: str) -> bool:
        return key in self.facts.module_used or key in self.facts.trained

    def _is_entity_key(self: Interpreter, key: str, assigning: bool = False) -> bool:
        state = self.run.state
        if state is None:
            return False
        canonical = self._canonical(key)
        found = state.modes.get(canonical) or self._lookup(state, canonical)
        if found and not all(m.kind == ENTRY for m in found):
            return True  # (ENTRY alone: any outside name in a summary run, not a module yet)
        if self._is_static_entity(key):
            return True
        if key == "self":
            return bool(self.run.ctx and self.run.ctx.is_module_class)
        if assigning and "trainer" not in key.lower() and looks_like_model_name(
                key.rsplit(".", 1)[-1]):
            return True
        return False

    def _entity_modes(self: Interpreter,
                      key: str, forward: bool = False) -> tuple[str, Modes] | None:
        """(canonical, modes) if ``key`` names an entity here, else None."""
        state = self.run.state
        if state is None:
            return None
        canonical = self._canonical(key)
        modes = self._lookup(state, canonical)
        if modes:
            return canonical, modes
        root = key.split(".", 1)[0]
        if self._is_static_entity(key) or (forward and self._looks_like_model(key, root)):
            modes = frozenset({Mode(UNKNOWN, None, 0, "never set in view")})
            fn = self.run.fn
            if self.run.main is False and fn is not None and root not in fn.locals:
                modes = ENTRY_MODES
            state.set(canonical, modes)
            return canonical, modes
        return None

    def _looks_like_model(self: Interpreter, key: str, root: str) -> bool:
        last = key.rsplit(".", 1)[-1]
        if not looks_like_model_name(last) or ("." in key and VERB_PREFIX.match(last)):
            return False  # logger.log_model(...), ckpt.save_model(...): methods, not models
        if root in self.imports.names or root in self.facts.module_funcs or \
                root in self.facts.classes:
            return False
        if self.run.fn is not None and (id(self.run.fn.node), last) in self.nested:
            return False
        return True

    # ------------------------------------------------------------------ expressions

    def _expr(self: Interpreter, node: ast.expr | None) -> Value:
        """The value of an expression, visiting it for the calls and occurrences inside.

        The commonest node types are tested first. Chains that Python parses without
        brackets, and so may nest thousands deep (``a + b + ...``, ``x[0][1]...``), recurse
        here directly: one frame per level, as the recursion limit was set for. The
        rest nest at most as deep as brackets can (200) and go through
        ``_EXPR_HANDLERS`` by type; any other node visits its children."""
        if node is None or self.run.state is None:
            return None
        tp = type(node)
        if tp is ast.Call:
            return self._call(node)  # type: ignore[arg-type]
        if tp is ast.Name:
            return self._name_value(node.id, node)  # type: ignore[attr-defined]
        if tp is ast.Attribute:
            return self._attribute_value(node)  # type: ignore[arg-type]
        if tp is ast.Constant:
            return None
        # their expression children in field order, as _children_exprs would visit them
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
            value = self._expr(node.value)  # type: ignore[attr-defined]
            self._expr(node.slice)  # type: ignore[attr-defined]
            return self._checkpoint_item(node, value)  # type: ignore[arg-type]
        handler = _EXPR_HANDLERS.get(tp)
        if handler is not None:
            return handler(self, node)
        self._children_exprs(node)
        return None

    def _children_exprs(self: Interpreter, node: ast.expr) -> None:
        """Visit the expression children of a node no handler knows, in field order."""
        for child in child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child)
            elif isinstance(child, ast.keyword):
                self._expr(child.value)
            elif isinstance(child, ast.comprehension):
                self._expr(child.iter)

    def _no_value(self: Interpreter, node: ast.expr) -> Value:
        """A lambda: its body runs later, if ever."""
        return None

    def _tuple_value(self: Interpreter, node: ast.Tuple | ast.List) -> Value:
        """A tuple or list display: the values of its items, for unpacking."""
        return Tup(tuple(self._expr(e) for e in node.elts))

    def _comprehension_value(self: Interpreter, node: ast.ListComp | ast.SetComp |
                             ast.GeneratorExp | ast.DictComp) -> Value:
        self._comprehension(node)
        return None

    def _named_expr_value(self: Interpreter, node: ast.NamedExpr) -> Value:
        """``(x := value)``: assigned as by the statement it is in; its value is ``value``."""
        value = self._expr(node.value)
        if self.run.stmts:
            self._assign(node.target, value, self.run.stmts[-1])  # type: ignore[arg-type]
        return value

    def _await_value(self: Interpreter, node: ast.Await) -> Value:
        return self._expr(node.value)

    def _yield_value(self: Interpreter, node: ast.Yield | ast.YieldFrom) -> Value:
        """A summary run keeps the state at each ``yield``: a generator used as a context
        manager runs its caller's block there."""
        self._expr(node.value)
        if not self.run.main and self.run.state is not None:
            self.run.yield_states.append(self.run.state.copy())
        return None

    def _attribute_value(self: Interpreter, node: ast.Attribute) -> Value:
        """``m.training`` is a snapshot of ``m``'s mode (a ``Flag`` to restore later);
        any other attribute chain is the entity it names, if any."""
        if node.attr == "training":
            key = self._ekey(node.value)
            if key is not None:
                found = self._entity_modes(key)
                if found is not None:
                    return Flag(found[0], found[1])
                if key == "self" or key.startswith("self."):
                    canonical = self._canonical(key)
                    assert self.run.state is not None
                    return Flag(canonical, self._lookup(self.run.state, canonical))
            return None
        key = self._ekey(node)
        if key is not None:
            return self._name_value(key, node)
        self._expr(node.value)
        return None

    def _if_exp_value(self: Interpreter, node: ast.IfExp) -> Value:
        """``a if c else b``: a grad context if either side is one (``KEEP`` standing for
        the side that leaves grad mode alone), else the value both sides agree on."""
        self._expr(node.test)
        a = self._expr(node.body)
        b = self._expr(node.orelse)
        if isinstance(a, GradCtx) or isinstance(b, GradCtx):
            va = a.values if isinstance(a, GradCtx) else frozenset({KEEP})
            vb = b.values if isinstance(b, GradCtx) else frozenset({KEEP})
            return GradCtx(va | vb)
        return a if a == b else None

    def _comprehension(self: Interpreter,
                       node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
                       ) -> None:
        for gen in node.generators:
            self._expr(gen.iter)
        if node.generators and is_eval_loader_name(
                iter_name(node.generators[0].iter), self.eval_loader_patterns):
            self.run.sink.eval_loop(node)
        self.run.stmts.append(node)
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
            self.run.stmts.pop()

    def _name_value(self: Interpreter, key: str, node: ast.AST) -> Value:
        state = self.run.state
        assert state is not None
        held = state.saved.get(key)
        if isinstance(held, GradCtx):
            return held
        canonical = self._canonical(key)
        if canonical in state.modes or self._lookup(state, canonical):
            self.run.sink.observe(self._occurrence, node, key, canonical)
            return Ent(canonical, key)
        if self._is_static_entity(key):
            self._entity_modes(key)
            self.run.sink.observe(self._occurrence, node, key, canonical)
            return Ent(canonical, key)
        return None

    def _occurrence(self: Interpreter, node: ast.AST, key: str, canonical: str) -> None:
        state = self.run.state
        if state is None:
            return
        modes = self._lookup(state, canonical) or frozenset()
        prev = self.events.occurrences.get(id(node))
        if prev is not None:
            modes = prev[2] | modes
        cls = self.classes_of.get(canonical.split(".")[0])
        self.events.occurrences[id(node)] = (node, key, modes, cls)

    def _is_spot_tensor(self: Interpreter, call: ast.Call, numpy: bool = True) -> bool:
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
                ctx = self.run.ctx
                return (id(ctx.node) if ctx else 0, arg.id) in self.spot_names
            return any(isinstance(n, ast.Call) and self._is_spot_tensor(n) for n in ast.walk(arg))
        return qual.startswith("torch.") and qual.rsplit(".", 1)[-1] in SPOT_TENSOR_FUNCS

    def _spot_args(self: Interpreter, node: ast.Call, ctx: FuncCtx, numpy: bool) -> bool:
        scope = self._loop_scope()
        for arg in node.args:
            if isinstance(arg, ast.Call) and self._is_spot_tensor(arg, numpy):
                return True
            if isinstance(arg, ast.Name):
                found = self.spot_names.get((id(ctx.node), arg.id))
                if found is not None and found[0] == scope and (numpy or not found[1]):
                    return True
        return False

    def _built_here(self: Interpreter, modes: Modes, ctx: FuncCtx) -> bool:
        """Every mode of the model comes from a constructor call in this function
        (``D = Discriminator(32)`` in a unit-test helper)."""
        node = ctx.node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        else:
            first, last = 0, 1 << 30
        return bool(modes) and all(m.how == "constructed" and m.line is not None and
                                   first <= m.line <= last for m in modes)


# What ``Values._expr`` does with each type of expression beyond those it tests first.
_EXPR_HANDLERS: dict[type[ast.expr], Callable[[Interpreter, Any], Value]] = {
    ast.Tuple: Values._tuple_value,
    ast.List: Values._tuple_value,
    ast.ListComp: Values._comprehension_value,
    ast.SetComp: Values._comprehension_value,
    ast.GeneratorExp: Values._comprehension_value,
    ast.DictComp: Values._comprehension_value,
    ast.Lambda: Values._no_value,
    ast.IfExp: Values._if_exp_value,
    ast.NamedExpr: Values._named_expr_value,
    ast.Await: Values._await_value,
    ast.Yield: Values._yield_value,
    ast.YieldFrom: Values._yield_value,
}
