"""Project-defined grad-disabling decorators (RULES.md §2, evaluation regions).

Real projects wrap ``torch.inference_mode`` / ``torch.no_grad`` in their own
decorator factory (YOLOv5's ``smart_inference_mode``)::

    def smart_inference_mode(torch_1_9=True):
        def decorate(fn):
            return (torch.inference_mode if torch_1_9 else torch.no_grad)()(fn)
        return decorate

A function decorated with ``@smart_inference_mode()`` runs without grad. This is
decided from the factory's own text: every ``return`` of it (following a returned
nested function) hands back something built from a grad-disabling context and
never from ``torch.enable_grad``.
"""

from __future__ import annotations

import ast

from .names import GRAD_OFF_CTX, GRAD_ON_CTX, Imports

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef


def returns_grad_off(fn: FuncNode, imports: Imports, depth: int = 0) -> bool:
    """Does every ``return`` of ``fn`` give a grad-disabling context or decorator?"""
    nested = {n.name: n for n in fn.body if isinstance(n, (ast.FunctionDef,
                                                            ast.AsyncFunctionDef))}
    returns = [n for n in _own_nodes(fn) if isinstance(n, ast.Return)]
    if not returns or depth > 2:
        return False
    for ret in returns:
        value = ret.value
        if value is None:
            return False
        if isinstance(value, ast.Name) and value.id in nested:
            if not returns_grad_off(nested[value.id], imports, depth + 1):
                return False
            continue
        quals = {imports.qual(n) for n in ast.walk(value)
                 if isinstance(n, (ast.Name, ast.Attribute))}
        if not quals & set(GRAD_OFF_CTX) or quals & set(GRAD_ON_CTX):
            return False
    return True


def _own_nodes(fn: FuncNode) -> list[ast.AST]:
    """The nodes of ``fn``'s body, not those of functions or classes defined in it."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = list(fn.body)
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out
