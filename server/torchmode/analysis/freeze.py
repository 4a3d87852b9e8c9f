"""Frozen submodules and the ``m.train()`` calls that undo them (TM009).

Fine-tuning code puts part of a model in eval mode on purpose (a *freeze*):
``model.backbone.eval()``, a loop setting every BatchNorm of ``model`` to
eval, ``model.apply(set_bn_eval)``, a project helper ``freeze_bn(model)`` or
method ``model.freeze_bn()``. ``model.train()`` switches every submodule back
to training mode, so a freeze made before it is undone unless it is made again
(or the model's class overrides ``train()`` to re-apply it).

This module walks each function (and the module body) in statement order,
loops twice (a freeze at the end of epoch N meets the ``train()`` of epoch
N+1), branches joined, and reports a ``train()`` that undoes a freeze when a
training step follows with no re-freeze in between. It reads the tree, the
file's facts and the training steps the dataflow found; nothing else.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from .facts import FileFacts, FuncInfo, is_optimizer_name
from .interp.syntax import child_nodes
from .names import entity_key

MAX_LOOP_DEPTH = 6   # nested loops that get a second pass (each doubles the work)
_LAYER_ITERATORS = frozenset({"modules", "named_modules", "children", "named_children"})
# Helpers whose definition is not in view are trusted by name (``freeze_bn(model)``,
# ``model.module.freeze_bn()``); visible ones are judged by their body.
FREEZE_HELPER_NAME = re.compile(
    r"^_?(?:freeze|fix|frozen|set)_?(?:bn|batch_?norms?|norms?)(?:_stats|_layers|_eval)?$|"
    r"^_?(?:set_)?bn_eval$", re.IGNORECASE)


class FreezeKind(Enum):
    SUBMODULE = "submodule"      # model.backbone.eval()
    LAYERS = "layers"            # a loop / apply / helper setting chosen layers of model to eval


@dataclass(frozen=True)
class Freeze:
    """Part of ``target`` held in eval (all of it for SUBMODULE, chosen layers for LAYERS)."""

    target: str
    kind: FreezeKind
    stmt: ast.stmt               # the statement that freezes (re-applied by the fix)
    text: str                    # how it reads: ``model.backbone.eval()``, ``freeze_bn(model)``
    # a freeze made by the model's constructor: ``Net.__init__`` (``in nets.py`` when the
    # class is in another file, whose path is ``path``); ``text`` is then written for the
    # model (``self.backbone.eval()`` -> ``model.backbone.eval()``)
    origin: str | None = None
    path: str | None = None

    @property
    def line(self) -> int:
        return self.stmt.lineno - 1

    @property
    def held(self) -> str:
        """What is held in eval, for messages and hovers."""
        if self.kind is FreezeKind.SUBMODULE:
            return self.target
        return f"the layers of {self.target} frozen in eval"

    @property
    def headline(self) -> str:
        """The freeze statement's first line (``for m in model.modules(): ...``)."""
        first = self.text.splitlines()[0] if self.text else self.text
        return first.rstrip(":") + (": ..." if "\n" in self.text else "")

    def undone_by(self, key: str) -> bool:
        """``key.train()`` switches the frozen part back to training mode."""
        if self.kind is FreezeKind.SUBMODULE:
            return self.target.startswith(key + ".")
        return key == self.target or self.target.startswith(key + ".")

    def renewed_by(self, other: Freeze) -> bool:
        """``other`` freezes (at least) what this freeze held."""
        if other.target == self.target:
            return True
        return other.kind is FreezeKind.LAYERS and self.kind is FreezeKind.LAYERS and \
            self.target.startswith(other.target + ".")


@dataclass(frozen=True)
class UndoneFreeze:
    """``entity.train()`` reached after ``freeze`` with a training step after it."""

    train_call: ast.Call
    train_stmt: ast.stmt | None  # the ``m.train()`` expression statement (None: inside another)
    entity: str
    freeze: Freeze
    step: ast.Call
    # set when the train() runs in a helper called with the frozen model
    # (``train_one_epoch(model, ...)``): the call, and the model's name at the call
    via: ast.Call | None = None
    caller_entity: str | None = None
    fix_text: str | None = None   # the freeze as written in the helper (None: no fix)


@dataclass(frozen=True)
class TrainHelper:
    """A function that calls ``<param>.train()`` and then reaches a training step."""

    param_index: int
    param: str
    train_call: ast.Call
    train_stmt: ast.stmt
    step: ast.Call


@dataclass
class _State:
    active: dict[str, Freeze] = field(default_factory=dict)          # by freeze text
    # train() calls that undid freezes, waiting for a training step
    pending: dict[tuple[int, str], tuple[ast.Call, ast.stmt | None, str, Freeze]] = \
        field(default_factory=dict)

    def copy(self) -> _State:
        return _State(dict(self.active), dict(self.pending))

    def same(self, other: _State) -> bool:
        return self.active.keys() == other.active.keys() and \
            self.pending.keys() == other.pending.keys()


def _join(states: Iterable[_State | None]) -> _State | None:
    """Freezes: any branch; an undone freeze stays pending only if every branch left it."""
    live = [s for s in states if s is not None]
    if not live:
        return None
    out = live[0].copy()
    for other in live[1:]:
        out.active.update(other.active)
        out.pending = {k: v for k, v in out.pending.items() if k in other.pending}
    return out


class FreezeWalker:
    """TM009 facts of one file."""

    def __init__(self, tree: ast.Module, facts: FileFacts, step_ids: set[int],
                 lines: list[str], module_classes: set[str],
                 class_freezes: Callable[[str, ast.Call], list[Freeze]] | None = None) -> None:
        self.tree = tree
        self.facts = facts
        self.step_ids = step_ids
        self.lines = lines
        self.module_classes = module_classes
        self.class_freezes = class_freezes
        self.undone: dict[int, UndoneFreeze] = {}
        # 0-based line -> freezes in effect at a call on that line (for hovers)
        self.held: dict[int, dict[str, Freeze]] = {}
        self._self_name: str | None = None
        self._stack: list[ast.stmt] = []
        self._depth = 0
        self._trainers: dict[int, TrainHelper | None] = {}
        self._call_lists: dict[int, list[ast.Call]] = {}  # by id of a node of self.tree

    def run(self) -> None:
        if not _mentions_freeze(self.lines) and self.class_freezes is None:
            return
        self._scope(self.tree.body, None)
        for fn in self.facts.functions:
            self._scope(fn.node.body, fn)

    # ------------------------------------------------------------------ scopes

    def _scope(self, body: list[ast.stmt], fn: FuncInfo | None) -> None:
        self._self_name = None
        if fn is not None and fn.class_name in self.module_classes and fn.params:
            self._self_name = fn.params[0]
        self._stack = []
        self._block(body, _State())

    def _block(self, body: list[ast.stmt], state: _State | None) -> _State | None:
        for stmt in body:
            if state is None:
                return None
            state = self._stmt(stmt, state)
        return state

    def _stmt(self, stmt: ast.stmt, state: _State) -> _State | None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return state
        self._stack.append(stmt)
        try:
            return self._compound(stmt, state)
        finally:
            self._stack.pop()

    def _compound(self, stmt: ast.stmt, state: _State) -> _State | None:
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            loop_freeze = self._loop_freeze(stmt)
            if loop_freeze is not None:
                self._freeze(loop_freeze, state)
                return state
            self._calls(stmt.iter, stmt, state)
            return self._loop(stmt, state)
        if isinstance(stmt, ast.While):
            self._calls(stmt.test, stmt, state)
            return self._loop(stmt, state)
        if isinstance(stmt, ast.If):
            self._calls(stmt.test, stmt, state)
            return _join([self._block(stmt.body, state.copy()),
                          self._block(stmt.orelse, state.copy())])
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self._calls(item.context_expr, stmt, state)
            return self._block(stmt.body, state)
        if isinstance(stmt, ast.Try):
            after = self._block(stmt.body, state.copy())
            for handler in stmt.handlers:
                self._block(handler.body, state.copy())
            after = self._block(stmt.orelse, after) if after is not None else None
            return self._block(stmt.finalbody, after or state.copy()) if after or \
                stmt.finalbody else after
        if isinstance(stmt, (ast.Return, ast.Raise, ast.Break, ast.Continue)):
            if isinstance(stmt, (ast.Return, ast.Raise)):
                self._calls(stmt, stmt, state)
            return None
        self._calls(stmt, stmt, state)
        return state

    def _loop(self, stmt: ast.For | ast.AsyncFor | ast.While, state: _State) -> _State:
        """Body once, and again from the state it ends in when that differs (the next
        iteration meets what the last one left): linear in nesting when nothing changes."""
        first = self._block(stmt.body, state.copy())
        after = _join([state, first]) or state
        if first is not None and not first.same(state) and self._depth < MAX_LOOP_DEPTH:
            self._depth += 1
            second = self._block(stmt.body, after.copy())
            self._depth -= 1
            after = _join([after, second]) or after
        return self._block(stmt.orelse, after) or after

    # ------------------------------------------------------------------ calls

    def _calls(self, node: ast.AST, stmt: ast.stmt, state: _State) -> None:
        for call in self._calls_in(node):
            if state.active:
                self.held.setdefault(call.lineno - 1, {}).update(state.active)
            freeze = self._call_freeze(call, stmt)
            if freeze is not None:
                self._freeze(freeze, state)
            elif self._helper_undoes(call, state):
                continue
            elif id(call) in self.step_ids:
                self._step(call, state)
            else:
                self._mode_call(call, stmt, state)

    def _calls_in(self, node: ast.AST) -> list[ast.Call]:
        """The calls of ``node`` in the order they finish, listed once per node (a loop
        body is walked twice)."""
        found = self._call_lists.get(id(node))
        if found is None:
            found = [n for n in _walk_no_defs(node) if isinstance(n, ast.Call)]
            found.sort(key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0))
            self._call_lists[id(node)] = found
        return found

    def _helper_undoes(self, call: ast.Call, state: _State) -> bool:
        """``train_one_epoch(model, ...)`` whose body calls ``model.train()`` and trains:
        a freeze of ``model`` made here is undone there."""
        if not state.active or not isinstance(call.func, ast.Name):
            return False
        fn = self.facts.module_funcs.get(call.func.id)
        helper = self._trainer(fn) if fn is not None else None
        if helper is None or helper.param_index >= len(call.args):
            return False
        key = entity_key(call.args[helper.param_index])
        if key is None or not self._may_undo(key):
            return False
        for text, freeze in list(state.active.items()):
            if freeze.undone_by(key) or freeze.target == key:
                del state.active[text]
                self.undone.setdefault(id(helper.train_call), UndoneFreeze(
                    helper.train_call, helper.train_stmt, helper.param, freeze, helper.step,
                    call, key, _renamed(freeze, key, helper.param, self.facts)))
        return True

    def _trainer(self, fn: FuncInfo) -> TrainHelper | None:
        key = id(fn.node)
        if key not in self._trainers:
            self._trainers[key] = trains_param(fn, self.step_ids)
        return self._trainers[key]

    def _freeze(self, freeze: Freeze, state: _State) -> None:
        state.active[freeze.text] = freeze
        for key, (_, _, _, undone) in list(state.pending.items()):
            if undone.renewed_by(freeze):
                del state.pending[key]

    def _step(self, call: ast.Call, state: _State) -> None:
        for train_call, train_stmt, entity, freeze in state.pending.values():
            self.undone.setdefault(id(train_call), UndoneFreeze(
                train_call, train_stmt, entity, freeze, call))
        state.pending.clear()

    def _mode_call(self, call: ast.Call, stmt: ast.stmt, state: _State) -> None:
        func = call.func
        key = entity_key(func.value) if isinstance(func, ast.Attribute) else None
        if key is None:
            return
        assert isinstance(func, ast.Attribute)
        mode = _train_mode(call) if func.attr == "train" else (False if func.attr == "eval"
                                                                and not call.args else None)
        if mode is True and func.attr == "train" and self.class_freezes is not None and \
                self._may_undo(key):
            self._constructor_freezes(call, stmt, key, state)
        if not state.active:
            return
        if mode is None:
            self._forward_of_frozen(call, state)
            return
        for text, freeze in list(state.active.items()):
            if key == freeze.target and freeze.kind is FreezeKind.SUBMODULE:
                if mode:
                    del state.active[text]   # unfrozen on purpose (model.backbone.train())
            elif freeze.undone_by(key):
                if not mode:
                    _drop_pending(state, freeze)  # model.eval(): everything in eval again
                elif self._may_undo(key):
                    del state.active[text]
                    train_stmt = stmt if _is_call_statement(stmt, call) else None
                    state.pending[(id(call), text)] = (call, train_stmt, key, freeze)

    def _constructor_freezes(self, call: ast.Call, stmt: ast.stmt, key: str,
                             state: _State) -> None:
        """``model.train()`` on a model whose class freezes part of it in ``__init__``."""
        assert self.class_freezes is not None
        for freeze in self.class_freezes(key, call):
            if freeze.text not in state.active:
                train_stmt = stmt if _is_call_statement(stmt, call) else None
                state.pending[(id(call), freeze.text)] = (call, train_stmt, key, freeze)

    def _forward_of_frozen(self, call: ast.Call, state: _State) -> None:
        """``model.backbone(x)`` right after ``model.backbone.eval()``: an evaluation of
        that submodule, not a freeze kept for training."""
        name = entity_key(call.func)
        for text, freeze in list(state.active.items()):
            if freeze.kind is FreezeKind.SUBMODULE and name == freeze.target:
                del state.active[text]

    def _may_undo(self, key: str) -> bool:
        """``key.train()`` is a module's ``train()`` (not a trainer's training loop)."""
        last = key.rsplit(".", 1)[-1].lower()
        if "trainer" in last:
            return False
        if key == "self" or key.startswith("self."):
            return self._self_name == "self" or key != "self"
        return True

    # ------------------------------------------------------------------ freezes

    def _call_freeze(self, call: ast.Call, stmt: ast.stmt) -> Freeze | None:
        func = call.func
        if isinstance(func, ast.Attribute):
            key = entity_key(func.value)
            if key is None:
                return None
            if func.attr in ("eval", "train") and "." in key and _train_mode(call) is False \
                    and not is_optimizer_name(key, set()) and "trainer" not in key.lower():
                return self._make(key, FreezeKind.SUBMODULE, stmt)
            if func.attr == "apply" and call.args and self._layer_eval_fn(call.args[0]):
                return self._make(key, FreezeKind.LAYERS, stmt)
            if not call.args and self._is_freeze_method(func.attr):
                return self._make(key, FreezeKind.LAYERS, stmt)
            return None
        if isinstance(func, ast.Name) and call.args:
            target = entity_key(call.args[0])
            if target is not None and self._is_freeze_helper(func.id):
                return self._make(target, FreezeKind.LAYERS, stmt)
        return None

    def _make(self, target: str, kind: FreezeKind, stmt: ast.stmt) -> Freeze:
        reapplied = self._reapplied_stmt(stmt)
        return Freeze(target, kind, reapplied, source_text(reapplied, self.lines))

    def _reapplied_stmt(self, stmt: ast.stmt) -> ast.stmt:
        """The freeze with the ``if`` that chose it (``if args.freeze_bn: freeze_bn(model)``)."""
        for outer in reversed(self._stack[:-1]):
            if isinstance(outer, ast.If) and len(outer.body) == 1 and not outer.orelse and \
                    (outer.body[0] is stmt or _only_child(outer.body[0], stmt)):
                stmt = outer
                continue
            break
        return stmt

    def _loop_freeze(self, loop: ast.For | ast.AsyncFor) -> Freeze | None:
        """``for m in model.modules(): if isinstance(m, nn.BatchNorm2d): m.eval()``."""
        it = loop.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and
                it.func.attr in _LAYER_ITERATORS):
            return None
        root = entity_key(it.func.value)
        var = _loop_var(loop.target)
        if root is None or var is None:
            return None
        conditional = _evals_param(loop.body, var)
        if conditional is None:
            return None
        if conditional:
            return self._make(root, FreezeKind.LAYERS, loop)
        return self._make(root, FreezeKind.SUBMODULE, loop) if "." in root else None

    def _layer_eval_fn(self, node: ast.expr) -> bool:
        name = entity_key(node)
        fn = self.facts.module_funcs.get(name) if name is not None else None
        if fn is None:
            return _names_layer_eval(node)
        return bool(fn.params) and _evals_param(fn.node.body, fn.params[0]) is True

    def _is_freeze_helper(self, name: str) -> bool:
        fn = self.facts.module_funcs.get(name)
        if fn is None:
            return name not in self.facts.classes and bool(FREEZE_HELPER_NAME.match(name))
        return bool(fn.params) and freezes_param(fn.node.body, fn.params[0])

    def _is_freeze_method(self, name: str) -> bool:
        found = [info.methods[name] for cls, info in self.facts.classes.items()
                 if cls in self.module_classes and name in info.methods]
        if not found:
            return bool(FREEZE_HELPER_NAME.match(name))
        return all(_method_freezes_self(method) for method in found)

    # ------------------------------------------------------------------ results

    def held_at(self, key: str, line: int) -> list[Freeze]:
        """Freezes of ``key`` (or of its submodules) in effect at a call on ``line``."""
        return [freeze for freeze in self.held.get(line, {}).values()
                if freeze.target == key or freeze.target.startswith(key + ".")]


def init_freezes(init: ast.FunctionDef | ast.AsyncFunctionDef,
                 methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
                 ) -> list[tuple[ast.stmt, str, FreezeKind]]:
    """Freezes a constructor makes on ``self``: (statement, part after ``self``, kind).
    ``self.backbone.eval()``, a BatchNorm loop over ``self.modules()``, a call of one of
    the class's freeze methods; none when ``__init__`` runs what it froze (a shape probe)
    or sets modes back."""
    args = init.args.posonlyargs + init.args.args
    if not args:
        return []
    me = args[0].arg
    found: list[tuple[ast.stmt, str, FreezeKind]] = []
    for stmt in _walk_no_defs(ast.Module(body=init.body, type_ignores=[])):
        if isinstance(stmt, (ast.For, ast.AsyncFor)) and _frozen_parts(
                ast.Module(body=[stmt], type_ignores=[]), me):
            root = entity_key(stmt.iter.func.value) if isinstance(stmt.iter, ast.Call) and \
                isinstance(stmt.iter.func, ast.Attribute) else None
            if root is not None:
                found.append((stmt, root[len(me):], FreezeKind.LAYERS))
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
                isinstance(stmt.value.func, ast.Attribute):
            call, func = stmt.value, stmt.value.func
            key = entity_key(func.value) or ""
            if key.startswith(me + ".") and func.attr in ("eval", "train") and \
                    _train_mode(call) is False and not is_optimizer_name(key, set()):
                found.append((stmt, key[len(me):], FreezeKind.SUBMODULE))
            elif key == me and not call.args and (
                    (func.attr in methods and _method_freezes_self(methods[func.attr])) or
                    (func.attr not in methods and FREEZE_HELPER_NAME.match(func.attr))):
                found.append((stmt, "", FreezeKind.LAYERS))
    frozen = {me + part for _, part, _ in found}
    if found and _restores(ast.Module(body=init.body, type_ignores=[]), frozen):
        return []
    return found


def trains_param(fn: FuncInfo, step_ids: set[int]) -> TrainHelper | None:
    """``def train_one_epoch(model, ...)``: ``model.train()`` as a statement, a training
    step after it, and no freeze of ``model`` in the body."""
    body = ast.Module(body=fn.node.body, type_ignores=[])
    steps = [n for n in _walk_no_defs(body) if isinstance(n, ast.Call) and id(n) in step_ids]
    for stmt in _walk_no_defs(body):
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            continue
        call = stmt.value
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "train" and
                _train_mode(call) is True):
            continue
        key = entity_key(func.value)
        if key not in fn.params or _frozen_parts(body, key):
            continue  # (a helper that also freezes its model re-applies the freeze itself)
        later = [s for s in steps if (s.lineno, s.col_offset) > (call.lineno, call.col_offset)]
        if later:
            return TrainHelper(fn.params.index(key), key, call, stmt, later[0])
    return None


def _renamed(freeze: Freeze, key: str, param: str, facts: FileFacts) -> str | None:
    """The freeze statement written for the helper (``model`` -> its parameter name), when
    it names nothing else of the caller (``if cfg.freeze:`` would not be defined there)."""
    text = renamed(freeze.text, key, param)
    return text if usable_here(text, facts, param) else None


def renamed(text: str, old: str, new: str) -> str:
    """``text`` with the entity ``old`` (``self``, ``model.module``) spelled ``new``."""
    return re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", new, text)


def usable_here(text: str, facts: FileFacts, entity: str) -> bool:
    """Every name ``text`` reads exists in this file at module level (or is ``entity``'s
    root, a builtin, or bound by the statement itself): the statement can be pasted."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and
             isinstance(n.ctx, ast.Store)}
    known = set(facts.imports.names) | set(facts.module_funcs) | set(facts.classes) | \
        facts.module_assigned | set(dir(builtins)) | bound | {entity.split(".", 1)[0]}
    return not any(isinstance(n, ast.Name) and n.id not in known for n in ast.walk(tree))


def _drop_pending(state: _State, freeze: Freeze) -> None:
    for key, item in list(state.pending.items()):
        if item[3] is freeze:
            del state.pending[key]


def _train_mode(call: ast.Call) -> bool | None:
    """``train()`` / ``train(True)`` -> True, ``train(False)`` / ``eval()`` -> False,
    ``train(flag)`` -> None."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "eval":
        return None if call.args or call.keywords else False
    flag: ast.expr | None = call.args[0] if call.args else None
    for kw in call.keywords:
        if kw.arg == "mode":
            flag = kw.value
    if flag is None:
        return True
    if isinstance(flag, ast.Constant) and isinstance(flag.value, bool):
        return flag.value
    return None


def _is_call_statement(stmt: ast.stmt, call: ast.Call) -> bool:
    return isinstance(stmt, ast.Expr) and stmt.value is call


def _only_child(stmt: ast.stmt, inner: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and len(stmt.body) == 1 and not stmt.orelse and \
        (stmt.body[0] is inner or _only_child(stmt.body[0], inner))


def _loop_var(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Tuple) and len(target.elts) == 2 and \
            isinstance(target.elts[1], ast.Name):
        return target.elts[1].id      # for name, module in model.named_modules()
    return None


def _evals_param(body: list[ast.stmt], name: str) -> bool | None:
    """Whether ``body`` calls ``name.eval()`` (or ``name.train(False)``): True when under
    a condition (chosen layers), False when unconditionally, None when never."""
    found: bool | None = None
    for node, conditional in _walk_conditional(body, False):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                entity_key(node.func.value) == name and node.func.attr in ("eval", "train") \
                and _train_mode(node) is False:
            found = conditional or bool(found)
    return found


def _walk_conditional(body: list[ast.stmt], conditional: bool
                      ) -> Iterator[tuple[ast.AST, bool]]:
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        inner = conditional or isinstance(stmt, ast.If)
        if isinstance(stmt, ast.If):
            yield from ((n, conditional) for n in ast.walk(stmt.test))
            yield from _walk_conditional(stmt.body, True)
            yield from _walk_conditional(stmt.orelse, True)
            continue
        for node in _walk_no_defs(stmt):
            yield node, inner or isinstance(node, ast.IfExp) or _under_ifexp(stmt, node)


def _under_ifexp(stmt: ast.stmt, node: ast.AST) -> bool:
    for sub in ast.walk(stmt):
        if isinstance(sub, ast.IfExp) and sub is not node and \
                any(n is node for n in (*ast.walk(sub.body), *ast.walk(sub.orelse))):
            return True
    return False


def freezes_param(body: list[ast.stmt], name: str) -> bool:
    """A helper body that freezes part of its parameter ``name``: ``name.X.eval()``, a
    loop over ``name.modules()`` setting chosen layers to eval, ``name.apply(f)``; not
    one that evaluates a submodule and restores the modes (``m.training = was``)."""
    module = ast.Module(body=body, type_ignores=[])
    frozen = _frozen_parts(module, name)
    return bool(frozen) and not _restores(module, frozen)


def _frozen_parts(module: ast.Module, name: str) -> set[str]:
    """What ``module``'s statements put in eval in ``name`` (keys of the frozen parts)."""
    frozen: set[str] = set()
    for node in _walk_no_defs(module):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            it = node.iter
            var = _loop_var(node.target)
            if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and \
                    it.func.attr in _LAYER_ITERATORS and var is not None:
                root = entity_key(it.func.value) or ""
                if (root == name or root.startswith(name + ".")) and \
                        _evals_param(node.body, var) is not None:
                    frozen.add(root)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            key = entity_key(node.func.value) or ""
            if key.startswith(name + ".") and node.func.attr in ("eval", "train") and \
                    _train_mode(node) is False and not is_optimizer_name(key, set()):
                frozen.add(key)
            elif (key == name or key.startswith(name + ".")) and node.func.attr == "apply" \
                    and node.args and _names_layer_eval(node.args[0]):
                frozen.add(key)
    return frozen


def _names_layer_eval(node: ast.expr) -> bool:
    """``set_bn_eval`` (by name) or ``lambda m: m.eval() if isinstance(m, BN) else None``."""
    if isinstance(node, ast.Lambda) and node.args.args:
        return _evals_param([ast.Expr(node.body)], node.args.args[0].arg) is True
    name = entity_key(node)
    return name is not None and bool(FREEZE_HELPER_NAME.match(name.rsplit(".", 1)[-1]))


def _restores(module: ast.Module, frozen: set[str]) -> bool:
    """The body runs what it put in eval, or sets modes back (``train(flag)``,
    ``.training = ...``): a temporary evaluation, not a freeze."""
    for node in _walk_no_defs(module):
        if isinstance(node, ast.Call):
            func = node.func
            if entity_key(func) in frozen:
                return True
            if isinstance(func, ast.Attribute) and func.attr == "train" and \
                    _train_mode(node) is not False:
                return True
        elif isinstance(node, ast.Attribute) and node.attr == "training" and \
                isinstance(node.ctx, ast.Store):
            return True
    return False


def _method_freezes_self(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = method.args.posonlyargs + method.args.args
    return bool(args) and freezes_param(method.body, args[0].arg)


def train_override_refreezes(method: ast.FunctionDef | ast.AsyncFunctionDef,
                             freeze_methods: Iterable[str] = ()) -> bool:
    """A ``train()`` override that re-applies a freeze on ``self`` (directly, or by calling
    one of the class's freeze methods / a freeze helper on ``self``)."""
    args = method.args.posonlyargs + method.args.args
    if not args:
        return False
    self_name = args[0].arg
    if _frozen_parts(ast.Module(body=method.body, type_ignores=[]), self_name):
        return True  # (it calls super().train(mode) first: that is no restore)
    methods = set(freeze_methods)
    for node in _walk_no_defs(method):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and entity_key(func.value) == self_name and \
                (func.attr in methods or FREEZE_HELPER_NAME.match(func.attr)):
            return True
        if isinstance(func, ast.Name) and node.args and \
                entity_key(node.args[0]) == self_name and FREEZE_HELPER_NAME.match(func.id):
            return True
    return False


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _walk_no_defs(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without descending into nested functions, lambdas and classes (nor
    into ``ctx`` markers); children listed without ``iter_child_nodes``'s generators,
    which cost more than this walk over every statement of a file."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(child for child in child_nodes(current)
                    if not isinstance(child, _NESTED_SCOPES))


def source_text(stmt: ast.stmt, lines: list[str]) -> str:
    """The statement's text, dedented (its first line starts at its own column)."""
    first = stmt.lineno - 1
    last = (stmt.end_lineno or stmt.lineno) - 1
    return textwrap.dedent("".join(lines[first:last + 1])).rstrip()


def _mentions_freeze(lines: list[str]) -> bool:
    """Cheap gate: a freeze needs an ``eval()``/``train(False)`` call or a freeze name."""
    return any(".eval()" in line or "train(False)" in line or "freeze" in line.lower() or
               "bn_eval" in line.lower() or ".apply(" in line for line in lines)
