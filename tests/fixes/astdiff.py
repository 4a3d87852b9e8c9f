"""Is the AST difference between two texts exactly what a fix intends?

Each check undoes the intended change on the fixed tree (or applies it to the
original tree) and compares ``ast.dump`` with the other side: anything else that
changed (a string's content, a statement moved) makes the check fail.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator

from torchmode.findings import FixKind, FixSpec


def _stmt_lists(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree)


def _expr(code: str) -> str:
    return _dump(ast.parse(code, mode="eval").body)


def _without_import(new: ast.Module, old: ast.Module, import_line: str | None) -> bool:
    """Remove the added import from ``new`` (in place); False if it is not as intended."""
    if not import_line:
        return True
    wanted = _dump(ast.parse(import_line).body[0])
    count = sum(_dump(s) == wanted for s in new.body)
    if count == sum(_dump(s) == wanted for s in old.body):
        return True  # it was there already
    for index, stmt in enumerate(new.body):
        if _dump(stmt) == wanted:
            del new.body[index]
            return True
    return False


def _undo_insert(new: ast.Module, old_dump: str, code: str) -> bool:
    wanted = _dump(ast.parse(code).body[0])
    for body in list(_stmt_lists(new)):
        for index, stmt in enumerate(body):
            if _dump(stmt) != wanted:
                continue
            del body[index]
            if _dump(new) == old_dump:
                return True
            body.insert(index, stmt)
    return False


def _undo_wrap(new: ast.Module, old_dump: str, code: str) -> bool:
    wanted = _expr(code)
    for body in list(_stmt_lists(new)):
        for index, stmt in enumerate(body):
            if not (isinstance(stmt, ast.With) and len(stmt.items) == 1
                    and stmt.items[0].optional_vars is None
                    and _dump(stmt.items[0].context_expr) == wanted):
                continue
            body[index:index + 1] = stmt.body
            if _dump(new) == old_dump:
                return True
            body[index:index + len(stmt.body)] = [stmt]
    return False


def _undo_decorator(new: ast.Module, old_dump: str, code: str) -> bool:
    wanted = _expr(code)
    for node in ast.walk(new):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for index, deco in enumerate(node.decorator_list):
                if _dump(deco) == wanted:
                    del node.decorator_list[index]
                    if _dump(new) == old_dump:
                        return True
                    node.decorator_list.insert(index, deco)
    return False


def _undo_keyword(new: ast.Module, old_dump: str, code: str) -> bool:
    """Remove one keyword argument ``code`` (``training=self.training``) from one call."""
    wanted = _dump(ast.parse(f"f({code})", mode="eval").body.keywords[0])  # type: ignore[attr-defined]
    for node in ast.walk(new):
        if not isinstance(node, ast.Call):
            continue
        for index, keyword in enumerate(node.keywords):
            if _dump(keyword) == wanted:
                del node.keywords[index]
                if _dump(new) == old_dump:
                    return True
                node.keywords.insert(index, keyword)
    return False


class _StripCall(ast.NodeTransformer):
    """Replace the n-th call ``X()`` (no arguments) whose callee is ``X`` by ``X``."""

    def __init__(self, callee: str, target: int) -> None:
        self.callee = callee
        self.target = target
        self.seen = 0

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not node.args and not node.keywords and _dump(node.func) == self.callee:
            self.seen += 1
            if self.seen - 1 == self.target:
                return node.func
        return node


def _undo_parens(new: ast.Module, old_dump: str, code: str) -> bool:
    callee = _expr(code[:-2] if code.endswith("()") else code)
    for target in range(50):
        candidate = copy.deepcopy(new)
        stripper = _StripCall(callee, target)
        stripper.visit(candidate)
        if stripper.seen <= target:
            return False
        if _dump(candidate) == old_dump:
            return True
    return False


def _flag_applied(old: ast.Module, new_dump: str, code: str) -> bool:
    replacement = ast.parse(code).body[0]
    for body in list(_stmt_lists(old)):
        for index, stmt in enumerate(body):
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                body[index] = replacement
                if _dump(old) == new_dump:
                    return True
                body[index] = stmt
    return False


def is_intended(old_text: str, new_text: str, spec: FixSpec) -> bool:
    """True when ``new_text`` is ``old_text`` plus exactly the change ``spec`` describes."""
    old = ast.parse(old_text)
    new = ast.parse(new_text)
    if not _without_import(new, old, spec.import_line):
        return False
    old_dump = _dump(old)
    if spec.kind in (FixKind.INSERT_EVAL, FixKind.INSERT_TRAIN, FixKind.REAPPLY_FREEZE):
        return _undo_insert(new, old_dump, spec.code)
    if spec.kind == FixKind.ADD_TRAINING_ARG:
        return _undo_keyword(new, old_dump, spec.code)
    if spec.kind in (FixKind.WRAP_NO_GRAD, FixKind.WRAP_INFERENCE_MODE):
        return _undo_wrap(new, old_dump, spec.code)
    if spec.kind == FixKind.DECORATE_NO_GRAD:
        return _undo_decorator(new, old_dump, spec.code)
    if spec.kind == FixKind.ADD_CALL_PARENS:
        return _undo_parens(new, old_dump, spec.code)
    if spec.kind == FixKind.FLAG_TO_METHOD:
        return _flag_applied(old, _dump(new), spec.code)
    return False


def _mode_statements(entity: str, old: ast.Module, new: ast.Module) -> set[str]:
    """Statements a complete fix may add for ``entity``: ``eval()``, ``train()``, and the
    save/restore pair (``<flag> = entity.training``, ``entity.train(<flag>)``)."""
    allowed = {_dump(ast.parse(f"{entity}.{m}()").body[0]) for m in ("eval", "train")}
    for node in ast.walk(new):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) \
                and _dump(node.value) == _expr(f"{entity}.training"):
            flag = node.targets[0].id
            allowed.add(_dump(node))
            allowed.add(_dump(ast.parse(f"{entity}.train({flag})").body[0]))
    return allowed


def is_intended_fix(old_text: str, new_text: str, spec: FixSpec, kinds: tuple[str, ...],
                    wrap: FixSpec | None = None) -> bool:
    """A complete or combined fix: the new tree minus the mode statements it added (and
    minus its ``no_grad`` wrap) is the old tree."""
    if len(kinds) <= 1:
        return is_intended(old_text, new_text, spec)
    import itertools

    old = ast.parse(old_text)
    old_dump = _dump(old)
    entity = spec.entity or ""
    new = ast.parse(new_text)
    if wrap is not None:
        _without_import(new, old, wrap.import_line)
        new_text = ast.unparse(new)
    wrap_code = wrap.code if wrap is not None else None
    allowed = _mode_statements(entity, old, new)
    spots = [(body, i) for body in _stmt_lists(new) for i, s in enumerate(body)
             if _dump(s) in allowed]
    added = len(spots) - sum(1 for body in _stmt_lists(old) for s in body if _dump(s) in allowed)
    for subset in itertools.combinations(range(len(spots)), added):
        trial = ast.parse(new_text)
        trial_spots = [(body, i) for body in _stmt_lists(trial) for i, s in enumerate(body)
                       if _dump(s) in allowed]
        for k in sorted(subset, key=lambda k: -trial_spots[k][1]):
            body, index = trial_spots[k]
            del body[index]
        if wrap_code is None and _dump(trial) == old_dump:
            return True
        if wrap_code is not None and _undo_wrap(trial, old_dump, wrap_code):
            return True
    return False
