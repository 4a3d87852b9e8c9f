"""One walk over the tree: imports, classes, functions and the static facts the
dataflow needs before it starts (which names are used as modules, which are
optimised, which functions reach a training step or use gradients)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

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
    imports = Imports()
    classes: dict[str, ClassInfo] = {}
    functions: list[FuncInfo] = []
    by_node: dict[int, FuncInfo] = {}
    module_funcs: dict[str, FuncInfo] = {}
    module_used: set[str] = set()
    trained: set[str] = set()
    value_refs: set[str] = set()
    called_ids: set[int] = set()
    facts = FileFacts(imports, classes, functions, by_node, module_funcs, module_used, trained,
                      value_refs)
    backward_owners: list[FuncInfo | None] = []
    alias_pairs: list[tuple[str, str]] = []
    step_candidates: list[tuple[FuncInfo | None, str, int]] = []

    # explicit stack: (node, owning function, enclosing class name, innermost class summary)
    stack: list[tuple[ast.AST, FuncInfo | None, str | None, ClassSummary | None]] = [
        (tree, None, None, None)]
    push = stack.append
    pop = stack.pop
    constant = ast.Constant
    child_fields_get = _FIELDS.get
    while stack:
        node, owner, cls, csum = pop()
        tp = type(node)
        if tp is ast.Name:  # the commonest node; no children (ctx is not walked)
            assert isinstance(node, ast.Name)
            if isinstance(node.ctx, ast.Store):
                if owner is not None:
                    owner.locals.add(node.id)
                else:
                    facts.module_assigned.add(node.id)
            elif id(node) not in called_ids:
                value_refs.add(node.id)
            continue
        if tp is ast.FunctionDef or tp is ast.AsyncFunctionDef:
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
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
            functions.append(info)
            by_node[id(node)] = info
            if owner is None and cls is None:
                module_funcs[node.name] = info
            if cls is not None and owner is None and cls in classes:
                classes[cls].methods[node.name] = node
                if csum is not None and node.decorator_list:
                    csum.method_decorators[node.name] = tuple(
                        imports.qual(d.func if isinstance(d, ast.Call) else d) or ""
                        for d in node.decorator_list)
            for stmt in reversed(node.body):
                push((stmt, info, None, csum))
            for default in (*args.defaults, *[d for d in args.kw_defaults if d is not None]):
                push((default, owner, cls, csum))
            for dec in node.decorator_list:
                if _is_enable_grad(dec, imports):
                    # gradient use of the decorated function, not of the scope around it
                    _grad_use(info, facts)
                else:
                    push((dec, owner, cls, csum))
            continue
        if tp is ast.ClassDef:
            assert isinstance(node, ast.ClassDef)
            bases = [imports.qual(b) or "" for b in node.bases]
            classes[node.name] = ClassInfo(node, bases)
            summary = ClassSummary(node.name, path, list(bases))
            summary.loads_in_init = loads_in_init(node)
            earlier = facts.class_summaries.get(node.name)
            if earlier is not None and owner is None:  # a notebook cell redefines the class
                lines = facts.class_lines.setdefault(node.name, [])
                facts.class_summaries[f"{node.name}@{lines[-1]}"] = earlier
            facts.class_summaries[node.name] = summary
            if owner is None:
                facts.class_lines.setdefault(node.name, []).append(node.lineno)
            if owner is not None:
                owner.locals.add(node.name)
            for stmt in reversed(node.body):
                push((stmt, owner, node.name if owner is None else None, summary))
            for base in node.bases:
                push((base, owner, cls, csum))
            for dec in node.decorator_list:
                push((dec, owner, cls, csum))
            continue
        if tp is ast.Import or tp is ast.ImportFrom:
            assert isinstance(node, (ast.Import, ast.ImportFrom))
            imports.add(node)
            continue
        if tp is ast.Call:
            assert isinstance(node, ast.Call)
            called = _on_call(node, owner, facts, called_ids, backward_owners, step_candidates)
            if csum is not None and called:
                class_call(csum, node, called)
        elif tp is ast.Attribute:
            assert isinstance(node, ast.Attribute)
            if node.attr == "grad" and isinstance(node.ctx, ast.Load):
                _grad_use(owner, facts)
            elif node.attr == "training":
                if isinstance(node.ctx, ast.Store):
                    if owner is not None:
                        owner.mode_calls = True
                elif csum is not None and isinstance(node.value, ast.Name) and \
                        node.value.id == "self":
                    csum.reads_training = True
            elif id(node) not in called_ids and isinstance(node.value, ast.Name) \
                    and node.value.id == "self" and isinstance(node.ctx, ast.Load):
                value_refs.add(f"self.{node.attr}")
        elif tp is ast.keyword:
            assert isinstance(node, ast.keyword)
            if node.arg == "requires_grad" and isinstance(node.value, ast.Constant) \
                    and node.value.value is True:
                _grad_use(owner, facts)
        elif tp is ast.With or tp is ast.AsyncWith:
            if owner is not None:
                owner.grad_ctx = True
        elif tp is ast.Assign:
            assert isinstance(node, ast.Assign)
            value = node.value
            source = _alias_source(value)
            if source is not None:
                for target in node.targets:
                    tkey = entity_key(target)
                    if tkey is not None and tkey != source:
                        alias_pairs.append((tkey, source))
            if isinstance(value, ast.Call) and _is_optimizer_call(imports.qual(value.func)):
                for target in node.targets:
                    key = dotted(target)
                    if key:
                        facts.optimizer_vars.add(key)
        elif tp is ast.Global or tp is ast.Nonlocal:
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

    for csum in facts.class_summaries.values():
        if csum.reads_training and not csum.layers:
            csum.layers["reads self.training"] += 1
    for fn in functions:
        fn.locals.difference_update(fn.params)
    for owner, rkey, nargs in step_candidates:
        last = rkey.rsplit(".", 1)[-1].lower()
        if "scaler" in last and nargs or rkey in facts.optimizer_vars or (
                last and "sched" not in last and is_optimizer_name(rkey, facts.optimizer_vars)):
            if owner is not None:
                owner.direct_step = True
            else:
                facts.module_step = True
    for owner in backward_owners:
        # a backward with no gradient use around it trains parameters
        grad_use = owner.gradient_use if owner else facts.module_gradient_use
        step = owner.direct_step if owner else facts.module_step
        if step or not grad_use:
            facts.any_backward_training = True
    facts.any_step = facts.module_step or any(f.direct_step for f in functions)
    if alias_pairs and facts.trained:
        _close_trained(facts, alias_pairs)
    return facts


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


def _on_call(node: ast.Call, owner: FuncInfo | None, facts: FileFacts, called_ids: set[int],
             backward_owners: list[FuncInfo | None],
             step_candidates: list[tuple[FuncInfo | None, str, int]]) -> str | None:
    func = node.func
    called_ids.add(id(func))
    name = dotted(func)
    if name is not None:
        if owner is not None:
            owner.calls.add(name)
        else:
            facts.module_calls.add(name)
    if isinstance(func, ast.Attribute):
        method = func.attr
        recv = func.value
        if method in ("eval", "train"):
            if owner is not None:
                owner.mode_calls = True
            key = entity_key(recv)
            if key and key != "self" and (method == "train" or not node.args):
                if method == "eval" or key.rsplit(".", 1)[-1].lower().find("trainer") < 0:
                    facts.module_used.add(key)
        elif method in MODULE_METHODS:
            key = entity_key(recv)
            if key and key != "self":
                facts.module_used.add(key)
                if method == "load_state_dict":
                    facts.loaded_keys.add(key)
        elif method == "step":
            rkey = dotted(recv)
            if rkey:
                step_candidates.append((owner, rkey, len(node.args)))
        elif method == "backward":
            if owner is not None:
                owner.direct_backward = True
            else:
                facts.module_backward = True
            backward_owners.append(owner)
        elif method in ("requires_grad_", "retain_grad"):
            _grad_use(owner, facts)
        elif method == "__enter__" and isinstance(recv, ast.Call):
            if owner is not None:
                owner.grad_ctx = True
    for handed in handed_callback_names(node):
        # a callback handed over is called by the object it is handed to: its callers are
        # the registrations (analysis/callbacks.py), and it runs after the code that
        # registers it, ordered like a call
        called_ids.add(id(handed))
        if owner is not None:
            owner.calls.add(handed.id)
    qual = facts.imports.qual_name(name) if name else None   # = imports.qual(func)
    if qual:
        if qual in ("torch.autograd.grad", "torch.func.grad", "torch.enable_grad",
                    "torch.func.vjp", "torch.autograd.functional.jacobian",
                    "torch.func.jacrev", "torch.func.jacfwd", "torch.autograd.functional.vjp"):
            _grad_use(owner, facts)
        elif qual in ("torch.autograd.backward",):
            if owner is not None:
                owner.direct_backward = True
            else:
                facts.module_backward = True
            backward_owners.append(owner)
        elif qual.endswith("set_grad_enabled") or qual.endswith("no_grad") \
                or qual.endswith("inference_mode"):
            if owner is not None:
                owner.grad_ctx = True
        if _is_optimizer_call(qual) and not qual.endswith("lr_scheduler") and \
                ".lr_scheduler." not in qual:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and \
                        sub.func.attr in ("parameters", "named_parameters"):
                    key = entity_key(sub.func.value)
                    if key:
                        facts.trained.add(key)
                        facts.module_used.add(key)
                elif isinstance(sub, ast.Attribute) and sub.attr in (
                        "parameters", "named_parameters") and not isinstance(sub.ctx, ast.Store):
                    key = entity_key(sub.value)
                    if key:
                        facts.trained.add(key)
    return qual


def is_eval_function(name: str) -> bool:
    return bool(EVAL_FUNC_RE.match(name))
