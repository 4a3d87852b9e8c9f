"""TM009 facts that need the whole file analysis: the freeze walk with the training
steps the dataflow found, and ``train()`` overrides that re-apply a freeze.

A class that overrides ``train()`` to re-freeze (``super().train(mode)`` then
``self.backbone.eval()`` or ``self.freeze_bn()``) is the usual cure: its
``model.train()`` undoes nothing. The class of the model is found through the
dataflow's entity occurrences, this file's classes and their bases, and other
analysed files (through the class resolver); a class defined in another file is
read from that file (parsed once per file version).
"""

from __future__ import annotations

import ast
import os
from functools import lru_cache
from typing import TYPE_CHECKING

from .facts import ClassInfo
from .freeze import FreezeWalker, train_override_refreezes
from .layers import Resolver

if TYPE_CHECKING:
    from .context import FileAnalysis

_CACHE_ATTR = "_freeze_walker"


def freeze_walker(fa: FileAnalysis) -> FreezeWalker:
    """The freeze walk of ``fa``, made once and kept on it (rules and hovers share it)."""
    walker = getattr(fa, _CACHE_ATTR, None)
    if isinstance(walker, FreezeWalker):
        return walker
    interp = fa.interp
    step_ids = {id(ev.node) for ev in (*interp.steps.values(), *interp.call_steps.values())}
    modules = {name for name in fa.facts.classes if fa.resolver.is_module_class(name)}
    walker = FreezeWalker(fa.tree, fa.facts, step_ids, fa.src.lines, modules)
    walker.run()
    setattr(fa, _CACHE_ATTR, walker)
    return walker


def held_in_eval(fa: FileAnalysis, entity: str, line: int) -> tuple[str, ...]:
    """What freezes hold in eval in ``entity`` at a call on 0-based ``line``, for hovers:
    ``model.backbone (model.backbone.eval() on line 30)``."""
    walker = freeze_walker(fa)
    if not walker.held:
        return ()
    return tuple(f"{freeze.held} (`{freeze.headline}` on line {freeze.line + 1})"
                 for freeze in walker.held_at(entity, line))


def refreezing_override(fa: FileAnalysis, entity: str, train_call: ast.Call) -> bool:
    """The class of ``entity`` (or, when it is not known, any module class of this file)
    overrides ``train()`` and re-applies a freeze there."""
    cls = _class_of(fa, entity, train_call)
    if cls is not None:
        found = _override_in_file(fa.facts.classes, cls, fa.resolver)
        if found is not None:
            return found
        return _override_elsewhere(fa.resolver, cls)
    return any(_override_in_file(fa.facts.classes, name, fa.resolver) is True
               for name in fa.facts.classes)


def _class_of(fa: FileAnalysis, entity: str, train_call: ast.Call) -> str | None:
    if entity == "self":
        line = train_call.lineno
        for name, info in fa.facts.classes.items():
            node = info.node
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                return name
        return None
    first, last = _enclosing_lines(fa, train_call.lineno)
    classes = {cls for node, key, _, cls in fa.interp.occurrences.values()
               if key == entity and cls and first <= getattr(node, "lineno", 0) <= last}
    return classes.pop() if len(classes) == 1 else None


def _enclosing_lines(fa: FileAnalysis, line: int) -> tuple[int, int]:
    """Lines of the innermost function holding ``line`` (the whole file at module level)."""
    best = (1, len(fa.src.lines))
    for fn in fa.facts.functions:
        first, last = fn.node.lineno, fn.node.end_lineno or fn.node.lineno
        if first <= line <= last and last - first < best[1] - best[0]:
            best = (first, last)
    return best


def _override_in_file(classes: dict[str, ClassInfo], cls: str, resolver: Resolver,
                      depth: int = 0) -> bool | None:
    """True/False: the nearest ``train`` override (this file's classes and bases)
    re-freezes or not; None: the class is not in this file."""
    info = classes.get(cls.rsplit(".", 1)[-1]) if depth < 10 else None
    if info is None:
        return None
    methods = info.methods
    if "train" in methods:
        return train_override_refreezes(methods["train"], methods)
    for base in info.bases:
        if base and base.rsplit(".", 1)[-1] != cls.rsplit(".", 1)[-1]:
            found = _override_in_file(classes, base, resolver, depth + 1)
            if found is not None:
                return found
    return False


def _override_elsewhere(resolver: Resolver, cls: str) -> bool:
    summary = resolver.find(cls)
    if summary is None or not summary.path or not os.path.isfile(summary.path):
        return False
    try:
        stamp = os.stat(summary.path).st_mtime_ns
    except OSError:
        return False
    return _file_override(summary.path, stamp, summary.name)


@lru_cache(maxsize=256)
def _file_override(path: str, stamp: int, name: str) -> bool:
    """Whether class ``name`` of ``path`` (at version ``stamp``) re-freezes in ``train()``."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return False
    classes = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    node = classes.get(name)
    for _ in range(10):
        if node is None:
            return False
        methods = {m.name: m for m in node.body
                   if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if "train" in methods:
            return train_override_refreezes(methods["train"], methods)
        bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
        node = next((classes[b] for b in bases if b in classes and b != node.name), None)
    return False
