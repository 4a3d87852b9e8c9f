"""Questions about syntax trees the interpreter asks: child nodes, assignment targets,
an argument by parameter name, the names an ``if`` test reads, constant truth of a
test, the root of an attribute chain. Pure functions of the nodes; no mode state.
"""

from __future__ import annotations

import ast

from ..model import (
    GRAD_DYN,
    GRAD_OFF,
    GRAD_ON,
    GradState,
)
from ..names import (
    SELF_RETURNING,
    WRAPPERS,
)
from ..torch_api import (
    PURE_TESTS,
)

NODE_FIELDS: dict[type, tuple[str, ...]] = {}


def node_fields(tp: type) -> tuple[str, ...]:
    """``tp._fields`` without ``ctx`` (Load/Store/Del hold no nodes worth visiting)."""
    fields = NODE_FIELDS.get(tp)
    if fields is None:
        fields = NODE_FIELDS[tp] = tuple(f for f in getattr(tp, "_fields", ()) if f != "ctx")
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


def grad_of_flag(call: ast.Call) -> GradState:
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
