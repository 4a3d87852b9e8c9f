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
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from ..source import split_lines
from .facts import ClassInfo
from .freeze import (
    Freeze,
    FreezeKind,
    FreezeWalker,
    init_freezes,
    renamed,
    source_text,
    train_override_refreezes,
)
from .layers import Resolver
from .names import entity_key

if TYPE_CHECKING:
    from .context import FileAnalysis

_CACHE_ATTR = "_freeze_walker"


def freeze_walker(fa: FileAnalysis) -> FreezeWalker:
    """The freeze walk of ``fa``, made once and kept on it (rules and hovers share it)."""
    walker = getattr(fa, _CACHE_ATTR, None)
    if isinstance(walker, FreezeWalker):
        return walker
    events = fa.interp.events
    step_ids = {id(ev.node) for ev in (*events.steps.values(), *events.call_steps.values())}
    modules = {name for name in fa.facts.classes if fa.resolver.is_module_class(name)}
    trains = any(".train(" in line for line in fa.src.lines)
    walker = FreezeWalker(fa.tree, fa.facts, step_ids, fa.src.lines, modules,
                          _class_freezes(weakref.ref(fa)) if trains else None)
    walker.run()
    setattr(fa, _CACHE_ATTR, walker)
    return walker


def _class_freezes(fa_ref: weakref.ref[FileAnalysis]
                   ) -> Callable[[str, ast.Call], list[Freeze]]:
    """The walker's look-up of constructor freezes. It holds the analysis weakly: the
    analysis keeps the walker, and a cycle between them would leave the whole file's
    tree and dataflow to the cyclic garbage collector (a 5,000-line file's analysis,
    some 40,000 objects, waiting for a full collection after every edit)."""
    def class_freezes(key: str, call: ast.Call) -> list[Freeze]:
        fa = fa_ref()
        return constructor_freezes(fa, key, call) if fa is not None else []
    return class_freezes


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


def constructor_freezes(fa: FileAnalysis, entity: str, train_call: ast.Call) -> list[Freeze]:
    """The freezes the model's class makes in ``__init__`` (``self.backbone.eval()``),
    written for ``entity``; none for parts whose class has no mode-dependent layers."""
    if "." in entity:
        return []  # (occurrences know the class of a name's root only)
    cls = _class_of(fa, entity, train_call)
    found = _class_node(fa, cls) if cls is not None else None
    if found is None:
        return []
    node, lines, path = found
    methods = {m.name: m for m in node.body
               if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
    init = methods.get("__init__")
    if init is None or not (init.args.posonlyargs + init.args.args):
        return []
    me = (init.args.posonlyargs + init.args.args)[0].arg
    where = f"{node.name}.__init__" + (f" in {os.path.basename(path)}" if path else "")
    out = []
    for stmt, part, kind in init_freezes(init, methods):
        if kind is FreezeKind.SUBMODULE and path is None and \
                not _may_matter(fa, init, me + part):
            continue
        text = renamed(source_text(stmt, lines), me, entity)
        out.append(Freeze(entity + part, kind, stmt, text, where, path))
    return out


def _may_matter(fa: FileAnalysis, init: ast.FunctionDef | ast.AsyncFunctionDef,
                part: str) -> bool:
    """False when ``self.<part> = Cls(...)`` builds a class known to have no
    mode-dependent layer (its modes change nothing)."""
    for node in ast.walk(init):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                any(entity_key(t) == part for t in node.targets):
            qual = fa.imports.qual(node.value.func)
            info = fa.resolver.layers(qual) if qual else None
            return info is None or info.dependent is not False
    return True


def _class_node(fa: FileAnalysis, cls: str) -> tuple[ast.ClassDef, list[str], str | None] | None:
    """The class's definition, the lines of its file, and that file (None: this one)."""
    info = fa.facts.classes.get(cls.rsplit(".", 1)[-1])
    if info is not None:
        return info.node, fa.src.lines, None
    where = _class_file(fa.resolver, cls)
    parsed = _parsed(where[0], where[1]) if where is not None else None
    if where is None or parsed is None:
        return None
    tree, lines = parsed
    node = next((n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and
                 n.name == where[2]), None)
    return (node, lines, where[0]) if node is not None else None


def _class_file(resolver: Resolver, cls: str) -> tuple[str, int, str] | None:
    """(path, version stamp, class name) of a class defined in another analysed file."""
    summary = resolver.find(cls)
    if summary is None or not summary.path or not os.path.isfile(summary.path):
        return None
    try:
        return summary.path, os.stat(summary.path).st_mtime_ns, summary.name
    except OSError:
        return None


@lru_cache(maxsize=64)
def _parsed(path: str, stamp: int) -> tuple[ast.Module, list[str]] | None:
    """Another file's tree and lines, once per file version."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        return ast.parse(text), split_lines(text)
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None


def _class_of(fa: FileAnalysis, entity: str, train_call: ast.Call) -> str | None:
    if entity == "self":
        line = train_call.lineno
        for name, info in fa.facts.classes.items():
            node = info.node
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                return name
        return None
    first, last = _enclosing_lines(fa, train_call.lineno)
    classes = {cls for node, key, _, cls in fa.interp.events.occurrences.values()
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
    where = _class_file(resolver, cls)
    return where is not None and _file_override(*where)


@lru_cache(maxsize=256)
def _file_override(path: str, stamp: int, name: str) -> bool:
    """Whether class ``name`` of ``path`` (at version ``stamp``) re-freezes in ``train()``."""
    parsed = _parsed(path, stamp)
    if parsed is None:
        return False
    tree = parsed[0]
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
