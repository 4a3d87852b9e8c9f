"""Linear probing (RULES §2): every parameter of a model but a head is frozen and the
optimizer takes only trainable parameters, so ``model.eval()`` during training keeps
the frozen BatchNorm statistics fixed on purpose: not TM003.

Recognised from the file's text, for a model key ``m``:

- frozen: ``for p in m.parameters(): p.requires_grad = False`` (also
  ``named_parameters()`` and ``requires_grad_(False)``), or ``m.requires_grad_(False)``;
- and an optimizer built from the trainable parameters only: its first argument
  filters on ``requires_grad`` or is a head's ``m.<head>.parameters()``.
"""

from __future__ import annotations

import ast

from .names import Imports, dotted, entity_key


def probed_models(tree: ast.Module, imports: Imports) -> set[str]:
    """Root names of the models trained by linear probing in this file."""
    frozen = _frozen_models(tree)
    if not frozen:
        return set()
    probed: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        qual = imports.qual(node.func) or ""
        if not qual.startswith("torch.optim."):
            continue
        arg = node.args[0]
        text = ast.unparse(arg)
        for root in frozen:
            if "requires_grad" in text and root in text or _head_parameters(arg, root):
                probed.add(root)
    return probed


def _frozen_models(tree: ast.Module) -> set[str]:
    frozen: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.iter, ast.Call):
            owner = _parameters_owner(node.iter)
            if owner is not None and _freezes(node.body):
                frozen.add(owner.split(".", 1)[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "requires_grad_" and _false_arg(node):
            key = entity_key(node.func.value)
            if key is not None:
                frozen.add(key.split(".", 1)[0])
    return frozen


def _parameters_owner(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ("parameters", "named_parameters"):
        return dotted(func.value)
    return None


def _freezes(body: list[ast.stmt]) -> bool:
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "requires_grad" for t in node.targets):
            if isinstance(node.value, ast.Constant) and node.value.value is False:
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "requires_grad_" and _false_arg(node):
            return True
    return False


def _false_arg(call: ast.Call) -> bool:
    args = [*call.args, *(k.value for k in call.keywords)]
    return bool(args) and isinstance(args[0], ast.Constant) and args[0].value is False


def _head_parameters(arg: ast.expr, root: str) -> bool:
    """``m.fc.parameters()`` (a head of ``m``, not all of ``m``)."""
    if isinstance(arg, ast.Call):
        owner = _parameters_owner(arg)
        return owner is not None and owner.startswith(root + ".")
    return False
