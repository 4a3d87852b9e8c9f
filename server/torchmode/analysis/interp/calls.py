"""Calls by qualified name and of the project's own functions.

Constructors, factories, loaders and wrappers (what a call builds and in which mode),
grad switches, exports, checkpoint items, models passed to unknown code, trainers and
their callbacks, and applying a called function's ``Summary`` to the caller's state.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..callbacks import builds_trainer, handed_callbacks, registering_receiver
from ..domain import (
    CallRecord,
    Ent,
    GradCtx,
    Modes,
    New,
    State,
    Summary,
    Tup,
    Value,
    entity_children,
)
from ..facts import FuncInfo
from ..layers import NEUTRAL_BUILTINS, ClassSummary
from ..model import (
    DYNAMIC,
    ENTRY,
    EVAL,
    GRAD_ON,
    LOADED,
    TRAIN,
    UNKNOWN,
    Mode,
)
from ..names import (
    EXPORTERS,
    PRETRAINED_EVAL_PREFIXES,
    SET_GRAD,
    dotted,
    entity_key,
    entity_key_of,
    looks_like_model_name,
)
from ..torch_api import (
    HARMLESS_CALLS,
    LOSS_CLASS,
)
from .call_kinds import PRETRAINED_NON_MODULES, TorchCall, torch_call_kind
from .syntax import (
    NODE_FIELDS,
    arg_node,
    chain_root,
    const_truth,
    grad_of_flag,
    node_fields,
)

if TYPE_CHECKING:
    from ..flow import Interpreter

    # The methods of this part run on the composed Interpreter (their ``self``
    # annotation); an ``Any`` base lets the type checker accept that annotation.
    Part: Any = object
else:
    Part = object


class NamedCalls(Part):
    """Calls by qualified name and of the project's own functions. A part of ``Interpreter``
    (flow.py): its methods run on the interpreter's state.
    """

    def _qual_call(self: Interpreter, node: ast.Call, qual: str, recv_value: Value,
                   arg_values: list[Value] | None = None) -> Value:
        """Calls by qualified name: grad switches, the project's own functions, calls
        in a PyTorch table (``_TORCH_BUILDERS``), then classes and functions of the
        project or of code we cannot see (``_other_call``)."""
        state = self.run.state
        if state is None:
            return None
        args = arg_values if arg_values is not None else []
        if qual in SET_GRAD:
            value = grad_of_flag(node)
            state.grad = frozenset({value})
            state.lgrad = frozenset({value})
            return None
        if self.run.main and handed_callbacks(node):
            self._register_callbacks(node)
        callee = self._callee(node, qual)
        if callee is not None:
            return self._apply_call(node, callee, args)
        builder = _TORCH_BUILDERS.get(torch_call_kind(qual))
        if builder is not None:
            return builder(self, node, qual, args)
        return self._other_call(node, qual, args)

    # ---------------------------------------------------------- calls in a PyTorch table

    def _grad_context_value(self: Interpreter, node: ast.Call, qual: str,
                            args: list[Value]) -> Value:
        """``torch.no_grad()``: a grad context, used by the ``with`` it is in (or kept
        in a name for a later ``with``)."""
        stmt = self.run.stmts[-1] if self.run.stmts else None
        kind = self._grad_ctx(node, stmt) if stmt is not None else None  # type: ignore[arg-type]
        return GradCtx(frozenset({kind})) if kind is not None else None

    def _wrapper_value(self: Interpreter, node: ast.Call, qual: str, args: list[Value]) -> Value:
        """``DDP(model)``, ``torch.compile(model)``: the wrapper shares the model's mode."""
        return args[0] if args and isinstance(args[0], (Ent, New)) else None

    def _prepare_value(self: Interpreter, node: ast.Call, qual: str, args: list[Value]) -> Value:
        """``accelerator.prepare(model, opt)``: returns what it was given, wrapped."""
        if len(args) == 1:
            return args[0]
        return Tup(tuple(args))

    def _deepcopy_value(self: Interpreter, node: ast.Call, qual: str, args: list[Value]) -> Value:
        """``copy.deepcopy(model)``: a new model in the copied model's modes."""
        state = self.run.state
        assert state is not None
        if args and isinstance(args[0], Ent):
            modes = self._lookup(state, args[0].canonical) or frozenset()
            return New(modes, self.classes_of.get(args[0].canonical))
        return args[0] if args and isinstance(args[0], New) else None

    def _loaded_value(self: Interpreter, node: ast.Call, qual: str, args: list[Value]) -> Value:
        """``torch.load(path)``: a model in the mode it was saved in, which we cannot know."""
        how = f"loaded with {qual}"
        return New(frozenset({Mode(LOADED, node.lineno - 1, node.col_offset, how, False, node)}),
                   None, True)

    def _pretrained_value(self: Interpreter, node: ast.Call, qual: str,
                          args: list[Value]) -> Value:
        """``X.from_pretrained(name)``: Hugging Face models come back in eval mode, other
        libraries' in train mode; tokenizers, configs and friends are no modules."""
        line = node.lineno - 1
        owner = qual.rsplit(".", 2)[-2] if qual.count(".") >= 1 else ""
        if owner.endswith(PRETRAINED_NON_MODULES):
            return None
        if qual.startswith(PRETRAINED_EVAL_PREFIXES) or self._is_hf_class(qual):
            return New(frozenset({Mode(EVAL, line, node.col_offset,
                                       "from_pretrained() (returns eval mode)", False, node)}),
                       qual.rsplit(".", 2)[-2] if "." in qual else None, True)
        base = qual.rsplit(".", 1)[0]
        return New(frozenset({Mode(TRAIN, line, node.col_offset,
                                   f"built by {base}.from_pretrained()", False, node)}),
                   base.rsplit(".", 1)[-1], True)

    def _factory_value(self: Interpreter, node: ast.Call, qual: str, args: list[Value]) -> Value:
        """``torchvision.models.resnet18()``: a new model in train mode."""
        return New(frozenset({Mode(TRAIN, node.lineno - 1, node.col_offset, "constructed",
                                   False, node)}), None)

    def _nn_module_value(self: Interpreter, node: ast.Call, qual: str, args: list[Value]) -> Value:
        """``nn.Linear(...)``, ``nn.Sequential(a, b)``: a new module in train mode that
        contains the modules it is given; losses and activations have no mode."""
        last = qual.rsplit(".", 1)[-1]
        if NEUTRAL_BUILTINS.match(last):
            return None
        line = node.lineno - 1
        cls = qual
        if last in ("Sequential", "ModuleList", "ModuleDict"):
            cls = self.resolver.inline_layers(node, f"<{last}@{line}:{node.col_offset}>")
        return New(frozenset({Mode(TRAIN, line, node.col_offset, "constructed", False, node)}),
                   cls, False, entity_children(args))

    # ---------------------------------------------------------- other calls by name

    def _other_call(self: Interpreter, node: ast.Call, qual: str, args: list[Value]) -> Value:
        """A call in no PyTorch table: a module class of the project, a function another
        file summarises, an export, ``torch.autograd.backward``, else code we cannot see."""
        last = qual.rsplit(".", 1)[-1]
        if LOSS_CLASS.search(last) and self.resolver.is_module_class(qual):
            return None  # a project's own loss (Tacotron2Loss): a criterion, not a model
        if self._is_project_module_class(qual, last):
            return self._construct(node, qual, args)
        if self.external is not None:
            full = self._full_qual(qual)
            summary = self.external(full)
            if summary is not None:
                if self.run.main:
                    self._record_external(node, full, summary, args)
                return self._apply_summary(node, summary, args, None)
        if qual in EXPORTERS:
            self._export_call(node, qual, args)
            return None
        if qual == "torch.autograd.backward":
            self.run.sink.observe(self._backward, node)
            return None
        self._passed_to_unknown(node, args, qual)
        if last[:1].isupper() and self._builds_used_module(node) and \
                self.resolver.find(qual) is None:
            # A class we cannot see (an unanalysed import) whose result is used as a
            # module elsewhere: every nn.Module constructor returns training mode.
            return New(frozenset({Mode(TRAIN, node.lineno - 1, node.col_offset, "constructed",
                                       False, node)}), None)
        return None

    def _is_project_module_class(self: Interpreter, qual: str, last: str) -> bool:
        """``qual`` names an ``nn.Module`` class of this file or one the resolver finds."""
        return ("." not in qual and qual in self.facts.classes or last[:1].isupper() and
                self.resolver.find(qual) is not None) and self.resolver.is_module_class(qual)

    def _construct(self: Interpreter, node: ast.Call, cls: str, args: list[Value]) -> New:
        """A module class of the project called: a new model in train mode, unless the
        class loads its model or wraps another (``_special_construction``)."""
        special = self._special_construction(node, cls, args)
        if special is not None:
            return special
        return New(frozenset({Mode(TRAIN, node.lineno - 1, node.col_offset, "constructed",
                                   False, node)}), self._class_at(cls, node), False,
                   entity_children(args))

    def _export_call(self: Interpreter, node: ast.Call, qual: str, args: list[Value]) -> None:
        """``torch.jit.trace(model, x)``: record the model's modes at the export (TM005).
        The TorchScript ONNX exporter switches to eval itself, and ``training=`` chooses
        the mode on purpose: neither is recorded."""
        if qual == "torch.onnx.export" and any(
                (kw.arg == "dynamo" and const_truth(kw.value) is False) or kw.arg == "training"
                for kw in node.keywords):
            return
        state, ctx = self.run.state, self.run.ctx
        if not (args and isinstance(args[0], Ent) and ctx is not None) or state is None:
            return
        modes = self._lookup(state, args[0].canonical) or frozenset()
        self.run.sink.export(node, args[0].key, modes, ctx, self.run.stmts)

    def _class_at(self: Interpreter, name: str, node: ast.AST) -> str:
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

    def _special_construction(self: Interpreter,
                              node: ast.Call, qual: str, args: list[Value]) -> New | None:
        """A module whose mode is not the constructor's train mode: one that loads its
        model in ``__init__`` (unknown), or a wrapper around a model (its mode)."""
        found = self.resolver.find(qual)
        if found is not None and found.loads_in_init:
            how = f"built by {qual.rsplit('.', 1)[-1]}(), which loads its model in __init__"
            return New(frozenset({Mode(UNKNOWN, node.lineno - 1, node.col_offset, how, False,
                                       node)}), qual, True, entity_children(args))
        wrapped = self._wrapped_modes(found, args)
        return New(wrapped, qual, False, entity_children(args)) if wrapped else None

    def _wrapped_modes(self: Interpreter,
                       cls: ClassSummary | None, args: list[Value]) -> Modes | None:
        """``iOSModel(model, im)``: a wrapper with no mode-dependent layer of its own built
        around a model behaves as the wrapped model does (RULES §3, TM007)."""
        state = self.run.state
        if cls is None or cls.layers or state is None:
            return None
        for arg in args:
            if isinstance(arg, Ent):
                modes = self._lookup(state, arg.canonical)
                if modes and all(m.kind != ENTRY for m in modes):
                    return modes
        return None

    def _checkpoint_item(self: Interpreter, node: ast.Subscript, value: Value) -> Value:
        """``encoder = checkpoint["encoder"]`` with ``checkpoint = torch.load(p)``: a module
        of unknown mode, loaded (RULES §2), when the name is used as a module."""
        state = self.run.state
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

    def _assigned_module(self: Interpreter, node: ast.expr, named: bool = False) -> bool:
        """``node`` is the whole value of an assignment to a name used as a module (with
        ``named``, also to a name people give to models), or the constructor at the root
        of a chain (``Net().to(device)``, ``nn.DataParallel(Net()).cuda()``)."""
        stmt = self.run.stmts[-1] if self.run.stmts else None
        if not isinstance(stmt, ast.Assign) or chain_root(stmt.value, self.imports) is not node:
            return False
        keys = [key for key in map(entity_key, stmt.targets) if key is not None]
        return any(self._is_static_entity(key) or named and looks_like_model_name(
            key.rsplit(".", 1)[-1]) for key in keys)

    def _builds_used_module(self: Interpreter, node: ast.Call) -> bool:
        return self._assigned_module(node)

    def _passed_to_unknown(self: Interpreter, node: ast.Call, args: list[Value], name: str) -> None:
        """A module handed to code we cannot see may come back in any mode."""
        if name.rsplit(".", 1)[-1] in HARMLESS_CALLS or name in HARMLESS_CALLS:
            return
        values = list(args)
        for kw in node.keywords:
            key = self._ekey(kw.value)
            if key is not None and self.run.state is not None:
                canonical = self._canonical(key)
                if canonical in self.run.state.modes:
                    values.append(Ent(canonical, key))
        for value in values:
            if isinstance(value, Ent):
                self._add_unknown(value.canonical, node, f"passed to {name}()")

    def _add_unknown(self: Interpreter, canonical: str, node: ast.Call, how: str) -> None:
        state = self.run.state
        if state is None or canonical == "self":
            return
        old = self._lookup(state, canonical) or frozenset()
        if not old or (all(m.kind == ENTRY for m in old) and not (
                self._is_static_entity(canonical) or
                looks_like_model_name(canonical.rsplit(".", 1)[-1]) or
                (self.run.fn is not None and canonical in self.run.fn.params))):
            return
        if any(m.kind == UNKNOWN and m.how == how for m in old):
            return
        mode = Mode(UNKNOWN, node.lineno - 1, node.col_offset, how, False, node)
        state.set(canonical, old | {mode})

    def _method_of_entity(self: Interpreter, node: ast.Call, method: str, value: Ent,
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

    def _is_hf_class(self: Interpreter, qual: str) -> bool:
        head = qual.split(".", 1)[0]
        full = self.imports.names.get(head, "")
        return full.startswith(PRETRAINED_EVAL_PREFIXES)

    def _full_qual(self: Interpreter, qual: str) -> str:
        if qual.startswith(".") and self.resolver.module_name:
            from ..layers import _resolve_relative
            return _resolve_relative(qual, self.resolver.module_name)
        return qual

    def _callee(self: Interpreter, node: ast.Call, qual: str) -> FuncInfo | None:
        name = self._dotted(node.func)
        if name is None:
            return None
        return self._static_callee(self.run.fn, name)

    def _apply_call(self: Interpreter,
                    node: ast.Call, callee: FuncInfo, args: list[Value]) -> Value:
        """A call of a function of this file: record what the caller passes, apply its effect."""
        is_method = callee.class_name is not None
        params = callee.params[1:] if is_method and callee.params else list(callee.params)
        via_self = isinstance(node.func, ast.Attribute) and self._dotted(node.func.value) == "self"
        if self.run.main:
            self._record_call(node, callee, params, args, via_self, is_method)
        result = self._apply_summary(node, self._summary(callee), args, params, via_self=via_self)
        if callee.name == "__init__" and not via_self:
            return self._constructor_value(node, callee, args, result)
        return result

    def _constructor_value(self: Interpreter, node: ast.Call, callee: FuncInfo,
                           args: list[Value], result: Value) -> Value:
        """``Net(...)`` whose ``__init__`` we see: a new model if ``Net`` is a module class
        (a project's own loss is a criterion, not a model), else what the call returned."""
        cls = callee.class_name
        if cls and LOSS_CLASS.search(cls):
            return None
        if cls and self.resolver.is_module_class(cls):
            return self._construct(node, cls, args)
        return result

    def _record_call(self: Interpreter, node: ast.Call, callee: FuncInfo, params: list[str],
                     args: list[Value], via_self: bool, is_method: bool) -> None:
        """Record the modes and classes the caller passes to ``callee``: through its
        parameters and through the outside names it reads (its entry state)."""
        state = self.run.state
        assert state is not None
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

    def _scope_id(self: Interpreter) -> int:
        return id(self.run.fn.node) if self.run.fn is not None else 0

    def _models_given(self: Interpreter, call: ast.Call) -> tuple[str, ...]:
        """The canonical names of the models ``call`` receives as arguments."""
        state = self.run.state
        assert state is not None
        found: list[str] = []
        for arg in (*call.args, *(kw.value for kw in call.keywords)):
            key = self._ekey(arg)
            if key is not None and key != "self":
                canonical = self._canonical(key)
                if self._lookup(state, canonical) and canonical not in found:
                    found.append(canonical)
        return tuple(found)

    def _note_trainer(self: Interpreter, stmt: ast.Assign) -> None:
        """``trainer = Trainer(config, model, dataset)``: remember which models it trains."""
        call = stmt.value
        assert isinstance(call, ast.Call)
        names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        if not names or self.run.state is None or not builds_trainer(call, names):
            return
        models = self._models_given(call)
        for name in names:
            if models:
                self.trainers[(self._scope_id(), name)] = models
            else:
                self.trainers.pop((self._scope_id(), name), None)

    def _register_callbacks(self: Interpreter, node: ast.Call) -> None:
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
            callee = self._static_callee(self.run.fn, name)
            if callee is not None:
                self._record_callback(callee, models, mode)

    def _record_callback(self: Interpreter,
                         callee: FuncInfo, models: tuple[str, ...], mode: Mode) -> None:
        state = self.run.state
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

    def _record_external(self: Interpreter, node: ast.Call, qual: str, summary: Summary,
                         args: list[Value]) -> None:
        state = self.run.state
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

    def _bind(self: Interpreter, node: ast.Call, params: list[str], args: list[Value]
              ) -> list[tuple[str, Value]]:
        out: list[tuple[str, Value]] = []
        for i, value in enumerate(args):
            if i < len(params):
                out.append((params[i], value))
        for kw in node.keywords:
            if kw.arg and kw.arg in params:
                key = self._ekey(kw.value)
                if key is not None:
                    value = self._name_value(key, kw.value) if self.run.state is not None else None
                    out.append((kw.arg, value))
        return out

    def _apply_summary(self: Interpreter, node: ast.Call, summary: Summary, args: list[Value],
                       params: list[str] | None, via_self: bool = False,
                       self_target: str | None = None,
                       entry_state: State | None = None) -> Value:
        """Apply a called function's ``summary`` at ``node``: its effects on the models it
        is given or reads (by ``params``, or ``self_target`` for a method of a known model;
        ``entry_state`` is the state the effects start from), and its return value."""
        state = self.run.state
        if state is None:
            return None
        if summary.reaches_step and self.run.ctx is not None:
            self.run.sink.call_step(node, self.run.ctx, self.run.stmts)
        if params is None:
            params = summary.params
        bound = dict(self._bind(node, params, args))
        if summary.return_classes:
            self._call_classes[id(node)] = summary.return_classes
        how = f"{summary.name}()"
        for key, effect in summary.effects.items():
            target = self._effect_target(key, bound, params, via_self, self_target)
            if target is not None:
                self._apply_effect(node, target, effect, params, how, entry_state or state)
        return self._summary_return(node, summary, bound, how)

    def _effect_target(self: Interpreter, key: str, bound: dict[str, Value], params: list[str],
                       via_self: bool, self_target: str | None) -> str | None:
        """The caller's entity that the callee's effect on ``key`` falls on: the argument
        bound to a parameter, the model a method runs on, or an outside name; None if
        the effect stays inside the callee."""
        root, _, rest = key.partition(".")
        if root in bound:
            value = bound[root]
            if isinstance(value, Ent):
                return value.canonical + ("." + rest if rest else "")
            return None
        if root == "self":
            if self_target is not None:
                return self_target + ("." + rest if rest else "")
            if via_self and (rest or (self.run.ctx is not None and self.run.ctx.is_module_class)):
                return self._canonical(key)
            return None
        if root not in params:
            return self._canonical(key)
        return None

    def _apply_effect(self: Interpreter, node: ast.Call, target: str, effect: Modes,
                      params: list[str], how: str, before: State) -> None:
        """Set ``target`` to the modes the callee leaves it in (``ENTRY``: the modes it had
        in ``before``); a callee that evaluates a model is a mode switch at the call."""
        state = self.run.state
        assert state is not None
        old = self._lookup(before, target) or frozenset()
        line = node.lineno - 1
        new: set[Mode] = set()
        for mode in effect:
            if mode.kind == ENTRY:
                new |= old
                continue
            kind = mode.kind
            if kind == DYNAMIC and mode.param_flag:   # train(mode) with a constant flag
                truth = const_truth(arg_node(node, params, mode.param_flag))
                if truth is not None:
                    kind = TRAIN if truth else EVAL
            new.add(Mode(kind, line, node.col_offset, how, mode.flagged, node))
        state.set(target, frozenset(new))
        state.drop_children(target)
        if self.run.ctx is not None and any(m.kind == EVAL for m in effect) and \
                not any(m.kind == ENTRY for m in effect):
            self.run.sink.mode_set(node, EVAL, target, self.run.ctx, self.run.stmts)

    def _summary_return(self: Interpreter, node: ast.Call, summary: Summary,
                        bound: dict[str, Value], how: str) -> Value:
        """The call's value: a model the callee builds (made at this call), or the
        argument it returns."""
        returns = summary.returns
        if isinstance(returns, New):
            line = node.lineno - 1
            return New(frozenset(Mode(m.kind, line, node.col_offset,
                                      "constructed" if m.how == "constructed" else how,
                                      m.flagged, node) for m in returns.modes),
                       returns.cls, returns.loaded)
        if isinstance(returns, Ent):
            value = bound.get(returns.canonical.split(".")[0])
            if isinstance(value, Ent):
                return value
        return None

    def _outside_keys(self: Interpreter,
                      callee: FuncInfo, via_self: bool, is_method: bool) -> list[str]:
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

    def _callee_globals(self: Interpreter, fn: FuncInfo) -> set[str]:
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

    def _referenced_keys(self: Interpreter, fn: FuncInfo) -> set[str]:
        cached = self._refkeys.get(id(fn.node))
        if cached is not None:
            return cached
        keys: set[str] = set()
        # The entity keys of every loaded Name/Attribute in the function (all nodes, as
        # ast.walk visits them; order is irrelevant, the result is a set). A dotted chain
        # ``a.b.c`` is taken whole: its inner nodes ``a.b`` and ``a`` are always loads.
        stack: list[ast.AST] = [fn.node]
        pop, push = stack.pop, stack.append
        fields_get = NODE_FIELDS.get
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


# What a call in a PyTorch table builds, by the table its qualified name belongs to.
Builder = Callable[["Interpreter", ast.Call, str, list[Value]], Value]
_TORCH_BUILDERS: dict[TorchCall | None, Builder] = {
    TorchCall.GRAD_CONTEXT: NamedCalls._grad_context_value,
    TorchCall.WRAPPER: NamedCalls._wrapper_value,
    TorchCall.PREPARE: NamedCalls._prepare_value,
    TorchCall.DEEPCOPY: NamedCalls._deepcopy_value,
    TorchCall.LOADER: NamedCalls._loaded_value,
    TorchCall.PRETRAINED: NamedCalls._pretrained_value,
    TorchCall.FACTORY: NamedCalls._factory_value,
    TorchCall.NN_MODULE: NamedCalls._nn_module_value,
}
