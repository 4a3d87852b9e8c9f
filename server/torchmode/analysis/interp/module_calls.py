"""Calls on models and the events they make.

A call of an expression: mode switches (``.train()``, ``.eval()``, ``.train(flag)``),
forward calls (``model(x)``), models handed to other calls, ``loss.backward()`` and
optimizer steps, with the evaluation region each happens in.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from ..domain import (
    Ent,
    Flag,
    New,
    State,
    Value,
)
from ..facts import is_optimizer_name
from ..model import (
    DYNAMIC,
    EVAL,
    GRAD_OFF,
    GRAD_ON,
    TRAIN,
    ForwardEvent,
    FuncCtx,
    Mode,
    ModeKind,
    StepEvent,
)
from ..names import (
    FORWARD_METHODS,
    GRAD_OFF_CTX,
    GRAD_ON_CTX,
    MODE_METHODS,
    MODULE_METHODS,
    NOT_FORWARD_METHODS,
    SELF_RETURNING,
    SET_GRAD,
    entity_key,
    looks_like_model_name,
)
from ..torch_api import (
    TORCH_MODULE_API,
    TRAIN_FLAGS,
)
from .syntax import (
    const_truth,
    grad_of_flag,
    is_module_qual,
)

# Methods whose call on a path is never a forward of the submodule that path names.
NO_PATH_FORWARD = NOT_FORWARD_METHODS | SELF_RETURNING | MODULE_METHODS

if TYPE_CHECKING:
    from ..flow import Interpreter

    # The methods of this part run on the composed Interpreter (their ``self``
    # annotation); an ``Any`` base lets the type checker accept that annotation.
    Part: Any = object
else:
    Part = object


class ModuleCalls(Part):
    """Calls on models and the events they make. A part of ``Interpreter`` (flow.py): its
    methods run on the interpreter's state.
    """

    def _call(self: Interpreter, node: ast.Call) -> Value:
        func = node.func
        state = self.run.state
        assert state is not None
        qual = self._qual(func)
        if isinstance(func, ast.Attribute):
            return self._method_call(node, func, qual)
        # plain calls: f(...)
        key = self._ekey(func) if isinstance(func, ast.Name) else None
        if key is not None and key not in self.imports.names and \
                (self.run.fn is None or (id(self.run.fn.node), key) not in self.nested) and \
                key not in self.facts.module_funcs and key not in self.facts.classes:
            if self._class_parameter(key):
                self._args(node)
                return New(frozenset({Mode(TRAIN, node.lineno - 1, node.col_offset, "constructed",
                                           False, node)}), None)
            found = self._entity_modes(key, forward=True) if self._callable_entity(key) else None
            if found is not None:
                self._args(node)
                self.run.sink.observe(self._forward, node, Ent(found[0], key))
                return None
        if isinstance(func, ast.Call) or isinstance(func, ast.Subscript):
            self._expr(func)
        arg_values = self._args(node)
        if qual:
            return self._qual_call(node, qual, None, arg_values)
        self._passed_to_unknown(node, arg_values, "a callable")
        return None

    def _method_call(self: Interpreter, node: ast.Call, func: ast.Attribute,
                     qual: str | None) -> Value:
        """``x.method(...)``: a grad switch, a forward of a submodule called by its path,
        or a method of the receiver's value (``_method_on_value``)."""
        state = self.run.state
        assert state is not None
        method = func.attr
        recv = func.value
        # torch.no_grad().__enter__() / set_grad_enabled(False) as a plain call
        if method in ("__enter__", "__exit__") and isinstance(recv, ast.Call) and \
                self._grad_switch_call(method, recv, state):
            return None
        head = self._dotted(recv)
        head_root = head.split(".", 1)[0] if head else None
        if head_root is not None and method not in NO_PATH_FORWARD and \
                self._forward_by_path(node, func, head_root, state):
            return None
        if qual is not None and head_root is not None and self._imported_receiver(
                qual, head_root, state):
            recv_value = None
        else:
            recv_value = self._expr(recv)
        if self.run.state is None:
            return None
        return self._method_on_value(node, method, recv, recv_value, qual)

    def _forward_by_path(self: Interpreter, node: ast.Call, func: ast.Attribute,
                         head_root: str, state: State) -> bool:
        """``self.encoder(x)`` / ``gan.netG(z)``: a forward of the submodule the whole
        path names (not of a name imported from a library); False if it is none."""
        if head_root in self.imports.names and head_root not in state.modes and \
                head_root not in self.facts.module_used:
            return False
        fkey = self._ekey(func)
        if fkey is None or not self._attribute_entity(fkey):
            return False
        found = self._entity_modes(fkey, forward=True)
        if found is None:
            return False
        self._args(node)
        self.run.sink.observe(self._forward, node, Ent(found[0], fkey))
        return True

    def _imported_receiver(self: Interpreter, qual: str, head_root: str, state: State) -> bool:
        """The receiver is a module or a name imported from one (``torch.nn.functional``,
        ``np``), not a value of this program: it has no value to compute."""
        return is_module_qual(qual, self.imports) or (
            head_root in self.imports.names and head_root not in self.facts.module_used
            and self._canonical(head_root) == head_root and head_root not in state.modes)

    def _grad_switch_call(self: Interpreter, method: str, recv: ast.Call, state: State) -> bool:
        """``torch.no_grad().__enter__()`` and its ``__exit__()``: set the grad state and
        say so; False if ``recv`` is no grad context."""
        inner = self._qual(recv.func)
        if inner in GRAD_OFF_CTX or inner in GRAD_ON_CTX or inner in SET_GRAD:
            if method == "__enter__":
                value = GRAD_ON if inner in GRAD_ON_CTX else (
                    grad_of_flag(recv) if inner in SET_GRAD else GRAD_OFF)
            else:
                value = GRAD_ON
            state.grad = frozenset({value})
            state.lgrad = frozenset({value})
            return True
        return False

    def _method_on_value(self: Interpreter, node: ast.Call, method: str, recv: ast.expr,
                         recv_value: Value, qual: str | None) -> Value:
        """A method called on a receiver of known value: mode switches, forward calls,
        ``load_state_dict``, other methods of a model, optimizer steps and ``backward``."""
        if method in MODE_METHODS:
            if isinstance(recv_value, (Ent, New)):
                return self._mode_call(node, method, recv, recv_value)
            target = self._bare_switch_target(node, recv) if recv_value is None else None
            if target is not None:
                return self._mode_call(node, method, recv, target)
        arg_values = self._args(node)
        if isinstance(recv_value, Ent):
            if method in FORWARD_METHODS:
                self.run.sink.observe(self._forward, node, recv_value)
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
            self.run.sink.observe(self._maybe_step, node, recv)
        elif method == "backward":
            self.run.sink.observe(self._backward, node)
        if qual:
            return self._qual_call(node, qual, recv_value, arg_values)
        return None

    def _bare_switch_target(self: Interpreter, node: ast.Call, recv: ast.expr) -> Ent | None:
        """``x.eval()`` without arguments on a receiver of no known value: the entity it
        names if it may be a module (not ``self``, a trainer, a config or an import)."""
        if node.args or node.keywords:
            return None
        key = self._ekey(recv)
        if key is None or key == "self" or not self._maybe_module_for_mode(key):
            return None
        found = self._entity_modes(key)
        return Ent(found[0], key) if found is not None else None

    def _attribute_entity(self: Interpreter, key: str) -> bool:
        """``self.model`` / ``gan.netG`` called: a forward only if that path itself is a
        module (not a method of the class, not a mode inherited from its owner)."""
        state = self.run.state
        assert state is not None
        if self._method_of_known_entity(key):
            return False
        if self._own_method_path(key):
            return False
        canonical = self._canonical(key)
        if canonical in state.modes or key in state.alias:
            return True
        if self._is_static_entity(key):
            return True
        if canonical == key and self._entity_from_outside(key):
            return True
        owner = key.rsplit(".", 1)[0]
        if owner != "self" and self._lookup(state, self._canonical(owner)):
            return False  # a method of a module we know (obj.configure_model())
        return self._looks_like_model(key, key.split(".", 1)[0])

    def _own_method_path(self: Interpreter, key: str) -> bool:
        """``self.helper``: a method of the class we are in, not a submodule."""
        if not key.startswith("self.") or key.count(".") != 1:
            return False
        cls = self.run.ctx.class_name if self.run.ctx is not None else None
        info = self.facts.classes.get(cls) if cls else None
        return info is not None and key[5:] in info.methods

    def _entity_from_outside(self: Interpreter, key: str) -> bool:
        """In the main run, ``key`` is a model the function's callers pass in (its call
        record) or one its class's ``__init__`` builds."""
        if self.run.fn is None or not self.run.main:
            return False
        record = self._record(self.run.fn)
        if record is not None and key in record.modes:
            return True
        cls = self.run.ctx.class_name if self.run.ctx is not None else None
        return bool(cls and key in self.init_state.get(cls, {}))

    def _class_parameter(self: Interpreter, key: str) -> bool:
        """``def test_discriminator(Discriminator): D = Discriminator(32)``: a class received
        as a parameter and called constructs a model, it does not forward (RULES §2)."""
        fn = self.run.fn
        return fn is not None and key in fn.params and key[:1].isupper() and \
            not key.isupper() and key not in self.run.state.modes  # type: ignore[union-attr]

    def _method_of_known_entity(self: Interpreter, key: str) -> bool:
        """``rnn.init_hidden(b)``: a method of a model we track, not a forward call
        (RULES §2), unless the attribute itself is tracked or named like a submodule."""
        owner, _, last = key.rpartition(".")
        if not owner or owner == "self" or looks_like_model_name(last):
            return False
        state = self.run.state
        assert state is not None
        if key in state.modes or key in state.alias:
            return False
        owner_canonical = self._canonical(owner)
        if not self._lookup(state, owner_canonical):
            return False
        info = self.facts.classes.get(self.classes_of.get(owner_canonical) or "")
        return info is None or last in info.methods  # a class we see: only its methods

    def _callable_entity(self: Interpreter, key: str) -> bool:
        state = self.run.state
        assert state is not None
        canonical = self._canonical(key)
        return bool(self._lookup(state, canonical)) or self._is_static_entity(key) or \
            self._looks_like_model(key, key.split(".", 1)[0])

    def _maybe_module_for_mode(self: Interpreter, key: str) -> bool:
        last = key.rsplit(".", 1)[-1].lower()
        if "trainer" in last or "pipeline" in last or last in ("args", "config", "cfg", "df"):
            return False
        if key.startswith("self.") or key == "self":
            return True
        root = key.split(".", 1)[0]
        return root not in self.imports.names

    def _args(self: Interpreter, node: ast.Call) -> list[Value]:
        values: list[Value] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self._expr(arg.value)
                values.append(None)
            else:
                values.append(self._expr(arg))
        for kw in node.keywords:
            self._expr(kw.value)
        if self.facts.trained:
            self.run.sink.observe(self._trained_arg_uses, node, values)
        return values

    def _trained_arg_uses(self: Interpreter, node: ast.Call, values: list[Value]) -> None:
        for value in values:
            if isinstance(value, Ent) and self._trained(value.key):
                self._arg_use(node, value)

    def _trained(self: Interpreter, key: str) -> bool:
        trained = self.facts.trained
        return key in trained or any(key.startswith(t + ".") for t in trained)

    def _arg_use(self: Interpreter, node: ast.Call, value: Ent) -> None:
        """A trained model handed to a call (``compute_loss(model, batch)``): its forward
        happens there, in the training step of this iteration (TM003)."""
        state = self.run.state
        if state is None or self.run.ctx is None:
            return
        modes = self._lookup(state, value.canonical) or frozenset()
        key = (id(node), value.canonical)
        existing = self.events.arg_uses.get(key)
        if existing is not None:
            existing.modes |= modes
            return
        self.events.arg_uses[key] = ForwardEvent(
            node, value.key, value.canonical, set(modes), set(state.grad), set(state.lgrad),
            self.run.ctx, tuple(self.run.stmts), (), True, False, None)

    def _mode_call(self: Interpreter,
                   node: ast.Call, method: str, recv: ast.expr, value: Ent | New) -> Value:
        """``m.eval()`` / ``m.train(...)``: set the mode; returns the module."""
        if method == "eval" and (node.args or node.keywords):
            self._args(node)
            return None  # DataFrame.eval("a + b") and friends
        key = value.key if isinstance(value, Ent) else (entity_key(recv) or "model")
        if method == "train":
            kind, flag_node = self._train_flag(node)
        else:
            kind, flag_node = EVAL, None
        if isinstance(value, New):
            line = node.lineno - 1
            how = f"{key}.{method}()"
            return New(frozenset({Mode(kind, line, node.col_offset, how, False, node,
                                       method_call=True)}), value.cls, value.loaded)
        state = self.run.state
        assert state is not None
        canonical = value.canonical
        if kind == DYNAMIC and self._restore_snapshot(flag_node, canonical, state):
            return value
        if kind in (EVAL, TRAIN) and self._under_train_flag():
            kind = DYNAMIC  # test(model, train=True): train-mode evaluation on purpose
        how = f"{key}.{method}()" if flag_node is None else f"{key}.train({ast.unparse(flag_node)})"
        param_flag = self._param_flag(flag_node) if kind == DYNAMIC else None
        self._set_mode(canonical, kind, node, how, param_flag=param_flag,
                       method_call=flag_node is None)
        self._apply_override(node, method, canonical, kind)
        return value

    def _restore_snapshot(self: Interpreter, flag_node: ast.expr | None, canonical: str,
                          state: State) -> bool:
        """``m.train(was_training)`` with ``was_training = m.training`` taken before: put
        back the modes of that snapshot; False if the flag is no snapshot of ``m``."""
        if not isinstance(flag_node, ast.Name):
            return False
        saved = state.saved.get(flag_node.id)
        if isinstance(saved, Flag) and saved.canonical == canonical and saved.snapshot:
            state.set(canonical, saved.snapshot)
            return True
        return False

    def _param_flag(self: Interpreter, flag_node: ast.expr | None) -> str | None:
        """In a summary run, ``m.train(flag)`` with ``flag`` a parameter: the name whose
        argument decides the mode at each call (``Summary`` effects)."""
        if not self.run.main and self.run.fn is not None and isinstance(flag_node, ast.Name) and \
                flag_node.id in self.run.fn.params:
            return flag_node.id
        return None

    def _train_flag(self: Interpreter, node: ast.Call) -> tuple[ModeKind, ast.expr | None]:
        """The mode ``m.train(...)`` sets and its flag argument, if any: a constant flag
        sets train or eval, any other is dynamic (and visited as an expression)."""
        flag_node: ast.expr | None = node.args[0] if node.args else None
        for kw in node.keywords:
            if kw.arg == "mode":
                flag_node = kw.value
        if flag_node is None:
            return TRAIN, None
        truth = const_truth(flag_node)
        if truth is None:
            self._expr(flag_node)
            return DYNAMIC, flag_node
        return (TRAIN if truth else EVAL), flag_node

    def _under_train_flag(self: Interpreter) -> bool:
        """Inside ``if train:`` / ``if train == True:`` on a parameter named ``train``,
        ``training`` or ``train_mode``: the caller chooses the mode (RULES §2, deliberate
        train-mode evaluation)."""
        fn = self.run.fn
        if fn is None:
            return False
        return any(g is not None and any(name in TRAIN_FLAGS and name in fn.params
                                         for name in g[2]) for g in self.run.guards)

    def _apply_override(self: Interpreter,
                        node: ast.Call, method: str, canonical: str, kind: str) -> None:
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
        if fn is None or id(fn.node) == id(self.run.fn.node if self.run.fn else None):
            return
        summary = self._summary(fn)
        self._apply_summary(node, summary, [], fn.params[1:], self_target=canonical)

    def _forward(self: Interpreter, node: ast.Call, value: Ent) -> None:
        state = self.run.state
        if state is None:
            return
        modes = self._lookup(state, value.canonical) or frozenset()
        if self.run.guards:
            modes = frozenset(self._feasible(modes))
        if value.key.split(".", 1)[0] in self.not_modules or modes and all(
                m.guard is not None and not m.guard[1] and m.guard[0] in self.not_module_tests
                for m in modes):
            return
        key = value.key
        ctx = self.run.ctx
        assert ctx is not None
        target = node.func.value if isinstance(node.func, ast.Attribute) and \
            node.func.attr in FORWARD_METHODS else node.func
        self._occurrence(target, key, value.canonical)
        # numpy random data is a shape check only for a model built right here (a unit-test
        # helper), not for a trained generator sampled from noise
        smoke = self._spot_args(node, ctx, numpy=False) or (
            self._spot_args(node, ctx, numpy=True) and self._built_here(modes, ctx))
        root_key = key
        trained = root_key in self.facts.trained or any(
            root_key.startswith(t + ".") for t in self.facts.trained)
        existing = self.events.forwards.get(id(node))
        if existing is not None:
            existing.modes |= modes
            existing.grad |= state.grad
            existing.lgrad |= state.lgrad
            return
        self.events.forwards[id(node)] = ForwardEvent(
            node, key, value.canonical, set(modes), set(state.grad), set(state.lgrad), ctx,
            tuple(self.run.stmts), (), trained, smoke, self._forward_class(value, ctx))

    def _forward_class(self: Interpreter, value: Ent, ctx: FuncCtx) -> str | None:
        """The class of the model a forward calls, for the rules that read its layers:
        known here, passed by the callers (the function's call record), or assigned in
        the ``__init__`` of the class the forward is in (``self.encoder``)."""
        cls = self.classes_of.get(value.canonical) or self.classes_of.get(
            value.canonical.split(".")[0])
        if cls is None:
            rec = self._record(self.run.fn) if self.run.fn is not None else None
            if rec is not None:
                cls = rec.classes.get(value.key)
        if cls is None and ctx.class_name and value.key.startswith("self."):
            cls = self.init_classes.get(ctx.class_name, {}).get(value.key)
        return cls

    def _loop_scope(self: Interpreter) -> int:
        """The innermost loop around the current statement (0: none). A tensor made with
        torch.randn outside the loop that forwards it is an input (GAN noise), not a
        shape probe."""
        for stmt in reversed(self.run.stmts):
            if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
                return id(stmt)
        return 0

    def _maybe_step(self: Interpreter, node: ast.Call, recv: ast.expr) -> None:
        rkey = self._dotted(recv)
        if not rkey:
            return
        last = rkey.rsplit(".", 1)[-1].lower()
        if "sched" in last:
            return
        if ("scaler" in last and node.args) or rkey in self.facts.optimizer_vars or \
                is_optimizer_name(rkey, self.facts.optimizer_vars):
            self._step(node, "optimizer")

    def _backward(self: Interpreter, node: ast.Call) -> None:
        """A ``backward()`` call (main runs only: the caller observes it through its sink)."""
        if self.run.ctx is None or self.run.state is None:
            return
        ev = self.events.backwards.get(id(node))
        if ev is None:
            self.events.backwards[id(node)] = StepEvent(
                node, "backward", self.run.ctx, tuple(self.run.stmts), set(self.run.state.lgrad))
        else:
            ev.lgrad |= self.run.state.lgrad
        if not self.run.ctx.gradient_use or self._has_optimizer_step():
            self._step(node, "backward")

    def _has_optimizer_step(self: Interpreter) -> bool:
        if self.run.fn is None:
            return self.facts.module_step
        return self.run.fn.direct_step

    def _step(self: Interpreter, node: ast.Call, kind: str) -> None:
        """A training step (main runs only: reached through an observed call)."""
        if self.run.ctx is None or self.run.state is None:
            return
        ev = self.events.steps.get(id(node))
        if ev is None:
            ev = self.events.steps[id(node)] = StepEvent(
                node, kind, self.run.ctx, tuple(self.run.stmts))
        for fwd in (*self.events.forwards.values(), *self.events.arg_uses.values()):
            if fwd.func is self.run.ctx:
                modes = self._lookup(self.run.state, fwd.canonical) or frozenset()
                ev.modes.setdefault(fwd.canonical, set()).update(self._feasible(modes))
