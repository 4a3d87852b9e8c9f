"""One walk over the tree: imports, classes, functions and the static facts the
dataflow needs before it starts (which names are used as modules, which are
optimised, which functions reach a training step or use gradients)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .callbacks import handed_callback_names
from .layers import ClassSummary, class_call, loads_in_init
from .names import (
    EVAL_FUNC_RE,
    MODULE_METHODS,
    OPTIMIZER_NAMES,
    Imports,
    dotted,
    entity_key,
)

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class FuncInfo:
    node: FuncNode
    qualname: str                  # "evaluate", "Trainer.fit", "main.<locals>.step"
    class_name: str | None         # enclosing class (methods)
    parent: FuncInfo | None        # enclosing function (nested defs)
    params: list[str]
    locals: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)       # dotted names called
    direct_step: bool = False       # optimizer.step()/scaler.step() in its own body
    direct_backward: bool = False
    gradient_use: bool = False
    mode_calls: bool = False        # .eval()/.train()/.training= in its own body
    grad_ctx: bool = False
    nonlocal_keys: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class ClassInfo:
    node: ast.ClassDef
    bases: list[str]
    methods: dict[str, FuncNode] = field(default_factory=dict)


@dataclass
class FileFacts:
    imports: Imports
    classes: dict[str, ClassInfo]
    functions: list[FuncInfo]
    by_node: dict[int, FuncInfo]
    module_funcs: dict[str, FuncInfo]          # top-level functions by name
    module_used: set[str]                       # keys used as nn.Module somewhere
    trained: set[str]                           # keys whose parameters reach an optimizer
    value_refs: set[str]                        # names referenced other than by a call
    module_step: bool = False                   # training step at module level
    module_backward: bool = False
    module_gradient_use: bool = False
    any_step: bool = False
    any_backward_training: bool = False
    loaded_keys: set[str] = field(default_factory=set)   # load_state_dict receivers
    optimizer_vars: set[str] = field(default_factory=set)
    module_assigned: set[str] = field(default_factory=set)
    module_calls: set[str] = field(default_factory=set)
    class_summaries: dict[str, ClassSummary] = field(default_factory=dict)
    # 1-based lines of each top-level definition of a class name, in order; every one but
    # the last is also in class_summaries as "Name@line" (RULES §2a: cell order matters)
    class_lines: dict[str, list[int]] = field(default_factory=dict)

    def all_calls(self) -> set[str]:
        calls = set(self.module_calls)
        for fn in self.functions:
            calls |= fn.calls
        return calls


def _is_optimizer_call(qual: str | None) -> bool:
    if not qual or "lr_scheduler" in qual or "swa_utils" in qual:
        return False
    last = qual.rsplit(".", 1)[-1]
    if "Scheduler" in last or last.endswith(("LR", "Lr")) or last in (
            "LambdaLR", "OneCycleLR", "ReduceLROnPlateau", "CyclicLR", "SWALR"):
        return False
    return ".optim." in f".{qual}" or last in OPTIMIZER_NAMES or last.endswith("Optimizer") \
        and last != "Optimizer"


def is_optimizer_name(key: str, optimizer_vars: set[str]) -> bool:
    if key in optimizer_vars:
        return True
    last = key.rsplit(".", 1)[-1].lower()
    return ("opt" in last and "sched" not in last and "option" not in last) or last in (
        "optimiser", "optim")


_SKIP_FIELDS = frozenset({"ctx", "annotation", "returns", "type_comment", "type_params",
                          "decorator_list", "bases", "keywords_annotation"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(tp: type) -> tuple[str, ...]:
    """The fields of ``tp`` the walk descends into, last field first (children are
    pushed on a stack, so they are then visited in field order)."""
    fields = _FIELDS.get(tp)
    if fields is None:
        fields = tuple(reversed([f for f in getattr(tp, "_fields", ()) if f not in _SKIP_FIELDS]))
        _FIELDS[tp] = fields
    return fields


def collect(tree: ast.Module, path: str = "") -> FileFacts:
    """The syntactic facts of one module (``path`` names it in class summaries)."""
    return _Collector(path).run(tree)


# (node, owning function, enclosing class name, innermost class summary)
_Frame = tuple[ast.AST, FuncInfo | None, str | None, ClassSummary | None]
# a node kind's handler; True when it has pushed (or skipped) the node's children itself
_Handler = Callable[[Any, FuncInfo | None, str | None, ClassSummary | None], bool]

_GRAD_USE_CALLS = frozenset({
    "torch.autograd.grad", "torch.func.grad", "torch.enable_grad", "torch.func.vjp",
    "torch.autograd.functional.jacobian", "torch.func.jacrev", "torch.func.jacfwd",
    "torch.autograd.functional.vjp"})
_PARAMETER_METHODS = ("parameters", "named_parameters")
# the methods ``_Collector._method_call`` has facts for (others are not looked at)
_FACT_METHODS = frozenset({"eval", "train", "step", "backward", "requires_grad_",
                           "retain_grad", "__enter__"}) | MODULE_METHODS


class _Collector:
    """One walk over a module, with an explicit stack (deep trees must not exhaust the
    recursion limit) and one handler per node kind that has facts; then the facts that
    need the whole file (which ``.step()`` calls are optimizer steps, aliases of
    trained models)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.imports = Imports()
        self.facts = FileFacts(self.imports, {}, [], {}, {}, set(), set(), set())
        self.called_ids: set[int] = set()   # func nodes of calls: not value references
        self.backward_owners: list[FuncInfo | None] = []
        self.alias_pairs: list[tuple[str, str]] = []
        self.step_candidates: list[tuple[FuncInfo | None, str, int]] = []
        self.stack: list[_Frame] = []

    def _handlers(self) -> dict[type, _Handler]:
        """The handler of each node kind that has facts. Made per walk and never stored:
        a dict of bound methods on ``self`` would be a reference cycle, kept alive with
        the whole file's facts until the next full collection."""
        return {
            ast.FunctionDef: self._function, ast.AsyncFunctionDef: self._function,
            ast.ClassDef: self._class, ast.Import: self._import, ast.ImportFrom: self._import,
            ast.Call: self._call, ast.Attribute: self._attribute, ast.keyword: self._keyword,
            ast.With: self._with, ast.AsyncWith: self._with, ast.Assign: self._assign,
            ast.Global: self._skip, ast.Nonlocal: self._skip,
        }

    def run(self, tree: ast.Module) -> FileFacts:
        self._walk(tree)
        self._finish()
        return self.facts

    def _walk(self, tree: ast.Module) -> None:
        facts = self.facts
        stack = self.stack
        stack.append((tree, None, None, None))
        push = stack.append
        pop = stack.pop
        constant = ast.Constant
        name_type = ast.Name
        store = ast.Store
        called_ids = self.called_ids
        value_refs = facts.value_refs
        handler_get = self._handlers().get
        child_fields_get = _FIELDS.get
        while stack:
            node, owner, cls, csum = pop()
            tp = type(node)
            if tp is name_type:  # the commonest node; no children (ctx is not walked)
                assert isinstance(node, ast.Name)
                if isinstance(node.ctx, store):
                    if owner is not None:
                        owner.locals.add(node.id)
                    else:
                        facts.module_assigned.add(node.id)
                elif id(node) not in called_ids:
                    value_refs.add(node.id)
                continue
            handler = handler_get(tp)
            if handler is not None and handler(node, owner, cls, csum):
                continue
            # constants have no children and no facts: not pushed at all
            fields = child_fields_get(tp)
            if fields is None:
                fields = _child_fields(tp)
            for field_name in fields:
                child = getattr(node, field_name, None)
                if child is None:
                    continue
                if type(child) is list:
                    for item in reversed(child):
                        if isinstance(item, ast.AST) and type(item) is not constant:
                            push((item, owner, cls, csum))
                elif isinstance(child, ast.AST) and type(child) is not constant:
                    push((child, owner, cls, csum))

    # --- definitions -------------------------------------------------------------------

    def _function(self, node: FuncNode, owner: FuncInfo | None, cls: str | None,
                  csum: ClassSummary | None) -> bool:
        info = self._func_info(node, owner, cls)
        if cls is not None and owner is None and cls in self.facts.classes:
            self._method(node, cls, csum)
        push = self.stack.append
        for stmt in reversed(node.body):
            push((stmt, info, None, csum))
        args = node.args
        for default in (*args.defaults, *[d for d in args.kw_defaults if d is not None]):
            push((default, owner, cls, csum))
        for dec in node.decorator_list:
            if _is_enable_grad(dec, self.imports):
                # gradient use of the decorated function, not of the scope around it
                _grad_use(info, self.facts)
            else:
                push((dec, owner, cls, csum))
        return True

    def _func_info(self, node: FuncNode, owner: FuncInfo | None, cls: str | None) -> FuncInfo:
        """The function's record, registered in the file's lists."""
        args = node.args
        params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        if args.vararg:
            params.append(args.vararg.arg)
        if args.kwarg:
            params.append(args.kwarg.arg)
        if owner is not None:
            qual = f"{owner.qualname}.<locals>.{node.name}"
            owner.locals.add(node.name)
        elif cls is not None:
            qual = f"{cls}.{node.name}"
        else:
            qual = node.name
        info = FuncInfo(node, qual, cls if owner is None else None, owner, params)
        facts = self.facts
        facts.functions.append(info)
        facts.by_node[id(node)] = info
        if owner is None and cls is None:
            facts.module_funcs[node.name] = info
        return info

    def _method(self, node: FuncNode, cls: str, csum: ClassSummary | None) -> None:
        self.facts.classes[cls].methods[node.name] = node
        if csum is not None and node.decorator_list:
            qual = self.imports.qual
            csum.method_decorators[node.name] = tuple(
                qual(d.func if isinstance(d, ast.Call) else d) or "" for d in node.decorator_list)

    def _class(self, node: ast.ClassDef, owner: FuncInfo | None, cls: str | None,
               csum: ClassSummary | None) -> bool:
        facts = self.facts
        bases = [self.imports.qual(b) or "" for b in node.bases]
        facts.classes[node.name] = ClassInfo(node, bases)
        summary = ClassSummary(node.name, self.path, list(bases))
        summary.loads_in_init = loads_in_init(node)
        earlier = facts.class_summaries.get(node.name)
        if earlier is not None and owner is None:  # a notebook cell redefines the class
            lines = facts.class_lines.setdefault(node.name, [])
            facts.class_summaries[f"{node.name}@{lines[-1]}"] = earlier
        facts.class_summaries[node.name] = summary
        if owner is None:
            facts.class_lines.setdefault(node.name, []).append(node.lineno)
        else:
            owner.locals.add(node.name)
        push = self.stack.append
        for stmt in reversed(node.body):
            push((stmt, owner, node.name if owner is None else None, summary))
        for base in node.bases:
            push((base, owner, cls, csum))
        for dec in node.decorator_list:
            push((dec, owner, cls, csum))
        return True

    def _import(self, node: ast.Import | ast.ImportFrom, owner: FuncInfo | None,
                cls: str | None, csum: ClassSummary | None) -> bool:
        self.imports.add(node)
        return True

    def _skip(self, node: ast.AST, owner: FuncInfo | None, cls: str | None,
              csum: ClassSummary | None) -> bool:
        """``global``/``nonlocal``: their names are neither stored nor read."""
        return True

    # --- expressions and statements ------------------------------------------------------

    def _attribute(self, node: ast.Attribute, owner: FuncInfo | None, cls: str | None,
                   csum: ClassSummary | None) -> bool:
        attr = node.attr
        if attr == "grad" and isinstance(node.ctx, ast.Load):
            _grad_use(owner, self.facts)
        elif attr == "training":
            if isinstance(node.ctx, ast.Store):
                if owner is not None:
                    owner.mode_calls = True
            elif csum is not None and _is_self(node.value):
                csum.reads_training = True
        elif id(node) not in self.called_ids and _is_self(node.value) \
                and isinstance(node.ctx, ast.Load):
            self.facts.value_refs.add(f"self.{attr}")
        return False

    def _keyword(self, node: ast.keyword, owner: FuncInfo | None, cls: str | None,
                 csum: ClassSummary | None) -> bool:
        value = node.value
        if node.arg == "requires_grad" and isinstance(value, ast.Constant) \
                and value.value is True:
            _grad_use(owner, self.facts)
        return False

    def _with(self, node: ast.With | ast.AsyncWith, owner: FuncInfo | None, cls: str | None,
              csum: ClassSummary | None) -> bool:
        if owner is not None:
            owner.grad_ctx = True
        return False

    def _assign(self, node: ast.Assign, owner: FuncInfo | None, cls: str | None,
                csum: ClassSummary | None) -> bool:
        value = node.value
        source = _alias_source(value)
        if source is not None:
            for target in node.targets:
                tkey = entity_key(target)
                if tkey is not None and tkey != source:
                    self.alias_pairs.append((tkey, source))
        if isinstance(value, ast.Call) and _is_optimizer_call(self.imports.qual(value.func)):
            for target in node.targets:
                key = dotted(target)
                if key:
                    self.facts.optimizer_vars.add(key)
        return False

    # --- calls ---------------------------------------------------------------------------

    def _call(self, node: ast.Call, owner: FuncInfo | None, cls: str | None,
              csum: ClassSummary | None) -> bool:
        func = node.func
        self.called_ids.add(id(func))
        name = dotted(func)
        if name is not None:
            (owner.calls if owner is not None else self.facts.module_calls).add(name)
        if isinstance(func, ast.Attribute) and func.attr in _FACT_METHODS:
            self._method_call(node, func.attr, func.value, owner)
        for handed in handed_callback_names(node):
            # a callback handed over is called by the object it is handed to: its callers
            # are the registrations (analysis/callbacks.py), and it runs after the code
            # that registers it, ordered like a call
            self.called_ids.add(id(handed))
            if owner is not None:
                owner.calls.add(handed.id)
        qual = self.imports.qual_name(name) if name else None   # = imports.qual(func)
        if qual:
            self._qual_call(node, qual, owner)
            if csum is not None:
                class_call(csum, node, qual)
        return False

    def _method_call(self, node: ast.Call, method: str, recv: ast.expr,
                     owner: FuncInfo | None) -> None:
        """``x.method(...)``: mode switches, module methods, steps, backward, grad use."""
        if method in ("eval", "train"):
            self._mode_call(node, method, recv, owner)
        elif method in MODULE_METHODS:
            key = entity_key(recv)
            if key and key != "self":
                self.facts.module_used.add(key)
                if method == "load_state_dict":
                    self.facts.loaded_keys.add(key)
        elif method == "step":
            rkey = dotted(recv)
            if rkey:
                self.step_candidates.append((owner, rkey, len(node.args)))
        elif method == "backward":
            self._backward(owner)
        elif method in ("requires_grad_", "retain_grad"):
            _grad_use(owner, self.facts)
        elif method == "__enter__" and isinstance(recv, ast.Call) and owner is not None:
            owner.grad_ctx = True

    def _mode_call(self, node: ast.Call, method: str, recv: ast.expr,
                   owner: FuncInfo | None) -> None:
        """``x.eval()``/``x.train()``: ``x`` is a module, unless it looks like a
        trainer (``trainer.train()``) or the call is ``eval(...)`` with arguments."""
        if owner is not None:
            owner.mode_calls = True
        key = entity_key(recv)
        if key and key != "self" and (method == "train" or not node.args):
            if method == "eval" or key.rsplit(".", 1)[-1].lower().find("trainer") < 0:
                self.facts.module_used.add(key)

    def _backward(self, owner: FuncInfo | None) -> None:
        if owner is not None:
            owner.direct_backward = True
        else:
            self.facts.module_backward = True
        self.backward_owners.append(owner)

    def _qual_call(self, node: ast.Call, qual: str, owner: FuncInfo | None) -> None:
        """A call by its imported name: gradient use, backward, grad contexts, optimizers."""
        if qual in _GRAD_USE_CALLS:
            _grad_use(owner, self.facts)
        elif qual == "torch.autograd.backward":
            self._backward(owner)
        elif qual.endswith(("set_grad_enabled", "no_grad", "inference_mode")):
            if owner is not None:
                owner.grad_ctx = True
        if _is_optimizer_call(qual) and not qual.endswith("lr_scheduler") and \
                ".lr_scheduler." not in qual:
            self._optimized(node)

    def _optimized(self, call: ast.Call) -> None:
        """The models whose parameters an optimizer constructor receives are trained."""
        facts = self.facts
        for sub in ast.walk(call):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and \
                    sub.func.attr in _PARAMETER_METHODS:
                key = entity_key(sub.func.value)
                if key:
                    facts.trained.add(key)
                    facts.module_used.add(key)
            elif isinstance(sub, ast.Attribute) and sub.attr in _PARAMETER_METHODS and \
                    not isinstance(sub.ctx, ast.Store):
                key = entity_key(sub.value)
                if key:
                    facts.trained.add(key)

    # --- whole-file facts ------------------------------------------------------------------

    def _finish(self) -> None:
        facts = self.facts
        for csum in facts.class_summaries.values():
            if csum.reads_training and not csum.layers:
                csum.layers["reads self.training"] += 1
        for fn in facts.functions:
            fn.locals.difference_update(fn.params)
        self._mark_steps()
        self._mark_backward_training()
        facts.any_step = facts.module_step or any(f.direct_step for f in facts.functions)
        if self.alias_pairs and facts.trained:
            _close_trained(facts, self.alias_pairs)

    def _mark_steps(self) -> None:
        """Which ``x.step()`` calls are optimizer steps, once every optimizer variable of
        the file is known."""
        facts = self.facts
        for owner, rkey, nargs in self.step_candidates:
            last = rkey.rsplit(".", 1)[-1].lower()
            if "scaler" in last and nargs or rkey in facts.optimizer_vars or (
                    last and "sched" not in last
                    and is_optimizer_name(rkey, facts.optimizer_vars)):
                if owner is not None:
                    owner.direct_step = True
                else:
                    facts.module_step = True

    def _mark_backward_training(self) -> None:
        """A backward with no gradient use around it (or beside a step) trains parameters."""
        facts = self.facts
        for owner in self.backward_owners:
            grad_use = owner.gradient_use if owner else facts.module_gradient_use
            step = owner.direct_step if owner else facts.module_step
            if step or not grad_use:
                facts.any_backward_training = True


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _alias_source(value: ast.expr) -> str | None:
    """``net = model``, ``self.model = model``, ``model = DDP(model)``, ``m = model.to(dev)``."""
    for _ in range(8):
        if isinstance(value, (ast.Name, ast.Attribute)):
            return entity_key(value)
        if isinstance(value, ast.Call):
            func = value.func
            if isinstance(func, ast.Attribute) and func.attr in (
                    "to", "cuda", "cpu", "half", "float", "double", "bfloat16", "train", "eval"):
                value = func.value
                continue
            if value.args and isinstance(value.args[0], (ast.Name, ast.Attribute, ast.Call)):
                name = dotted(func) or ""
                last = name.rsplit(".", 1)[-1]
                if last in ("DDP", "DistributedDataParallel", "DataParallel", "compile",
                            "FSDP", "FullyShardedDataParallel", "prepare", "deepcopy"):
                    value = value.args[0]
                    continue
        return None
    return None


def _close_trained(facts: FileFacts, pairs: list[tuple[str, str]]) -> None:
    """Aliases of a trained model are trained (``self.model = model``)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    roots = {find(t) for t in facts.trained}
    for key in {k for pair in pairs for k in pair}:
        if find(key) in roots:
            facts.trained.add(key)


def _is_enable_grad(dec: ast.expr, imports: Imports) -> bool:
    """``@torch.enable_grad()`` / ``@torch.enable_grad`` (valid since PyTorch 2.0)."""
    func = dec.func if isinstance(dec, ast.Call) else dec
    return imports.qual(func) == "torch.enable_grad"


def _grad_use(owner: FuncInfo | None, facts: FileFacts) -> None:
    if owner is not None:
        owner.gradient_use = True
    else:
        facts.module_gradient_use = True


def is_eval_function(name: str) -> bool:
    return bool(EVAL_FUNC_RE.match(name))
