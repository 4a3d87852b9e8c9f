"""Follow-on edits that make an ``eval()`` fix complete (RULES.md §4, "Complete fixes").

Inserting ``m.eval()`` before an evaluation block that runs between training steps
leaves the next training step in eval mode (a new TM003). A PyTorch user writes the
second half too, and so does the fix:

- an evaluation block inside the epoch loop (``model.eval()`` before it):
  ``model.train()`` where the training part of the iteration starts, i.e. before the
  first statement of the training loop's body that trains (a forward call of the
  model, a call that passes it on, a backward or optimizer step, a call of a local
  function that trains);
- an ``evaluate(model)`` helper (``model.eval()`` at its top) with one visible call:
  ``model.train()`` right after that call, in whichever analysed file holds it;
- the same helper in every case (several calls, a call that is not a plain
  statement): save and restore the caller's mode inside the helper,
  ``was_training = model.training`` ... ``model.train(was_training)`` before every
  ``return`` and at the end of the body. An exception leaves the helper in eval
  mode, as it leaves the whole training run.

Everything is found with ``ast`` on the file (and, for the callers, on the other
files of the project): the engine's ``FixSpec`` says where the ``eval()`` goes, this
module says where its partner goes. The result is only offered after verification.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..findings import FixKind, FixSpec
from ..source import utf16_len
from .build import edits_for_fix
from .layout import Doc, leading_ws
from .textedit import TextEdit

if TYPE_CHECKING:
    from ..project import Project

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)
_OPTIMIZER = re.compile(r"opt|scaler|trainer", re.IGNORECASE)


@dataclass(frozen=True)
class FileEdits:
    """Edits to another file of the project, against the text they were made for."""

    path: str
    text: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True)
class Completion:
    """A complete version of an ``eval()`` fix: ``edits`` (the fix's own file, the
    ``eval()`` included), ``other`` (edits to other files) and the title's second half."""

    what: str
    edits: tuple[TextEdit, ...]
    other: tuple[FileEdits, ...] = ()


def completions(text: str, path: str, spec: FixSpec,
                project: Project | None = None) -> list[Completion]:
    """Complete versions of the ``eval()`` fix ``spec``, most specific first."""
    if spec.kind != FixKind.INSERT_EVAL or not spec.entity:
        return []
    blocks = _Blocks(text)
    chain = _chain(blocks.body_at(spec.target_line + 1), spec.target_line + 1)
    if not chain:
        return []
    doc = Doc(text)
    own = edits_for_fix(text, spec, doc)
    if not own:
        return []
    helper = _helper_chain(chain)
    if helper is not None:
        found = _helper_completions(doc, path, blocks, helper, spec, own, project)
    else:
        found = _loop_completion(doc, blocks, chain, spec, own)
    return [c for c in found if c is not None]


def _helper_chain(chain: list[ast.stmt]) -> list[ast.stmt] | None:
    """The chain down to the function when the ``eval()`` goes at the top of its body
    (the target is the function, or its first statement after the docstring)."""
    if isinstance(chain[-1], _FUNCTIONS):
        return chain
    if len(chain) < 2 or not isinstance(chain[-2], _FUNCTIONS):
        return None
    body = chain[-2].body
    head = body[1:2] if len(body) > 1 and _is_docstring(body[0]) else body[:1]
    return chain[:-1] if head and head[0] is chain[-1] else None


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
        and isinstance(stmt.value.value, str)


# -- where things are ---------------------------------------------------------------------


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None


_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
_CONTINUATION = ("else", "elif", "except", "finally", ")", "]", "}")


class _Blocks:
    """A file's top-level statements, parsed one top-level block at a time: a fix needs
    the function around its target and the few definitions and calls it looks up,
    and ``ast.parse`` of a 5,000-line file costs more than all the rest. A block that
    does not parse on its own (a string running across top-level lines) falls back
    to parsing the whole file."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self._module: ast.Module | None = None
        self._whole = False
        self._parsed: dict[tuple[int, int], list[ast.stmt]] = {}

    def module(self) -> ast.Module:
        if self._module is None:
            self._module = _parse(self.text) or ast.Module(body=[], type_ignores=[])
            self._whole = True
        return self._module

    def body_at(self, line: int) -> list[ast.stmt]:
        """Top-level statements around 1-based ``line`` (with correct line numbers)."""
        if self._whole:
            return self.module().body
        first, end = self._extent(line - 1)
        key = (first, end)
        if key not in self._parsed:
            tree = _parse("".join(self.lines[first:end]))
            if tree is None or not tree.body:
                return self.module().body
            ast.increment_lineno(tree, first)
            self._parsed[key] = tree.body
        return self._parsed[key]

    def _extent(self, index: int) -> tuple[int, int]:
        first = min(index, len(self.lines) - 1)
        while first > 0 and not self._starts_statement(first):
            first -= 1
        while first > 0 and self.lines[first - 1].startswith("@"):
            first -= 1
        end = index + 1
        while end < len(self.lines) and not (self._starts_statement(end)
                                             and not self.lines[end].startswith("@")):
            end += 1
        return first, end

    def _starts_statement(self, index: int) -> bool:
        line = self.lines[index]
        return bool(line[:1].strip()) and not line.startswith("#") \
            and not line.startswith(_CONTINUATION)

    def definitions(self, names: set[str]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
        """Module-level functions and methods of module-level classes named ``names``."""
        seen: set[int] = set()
        for match in _DEF.finditer(self.text):
            if match.group(1) not in names:
                continue
            line = self.text.count("\n", 0, match.start()) + 1
            for node in _definitions(self.body_at(line)):
                if node.name in names and id(node) not in seen:
                    seen.add(id(node))
                    yield node


def _start(stmt: ast.stmt) -> int:
    """1-based first line of a statement, its decorators included."""
    decorators = getattr(stmt, "decorator_list", ())
    return min([stmt.lineno] + [d.lineno for d in decorators])


def _blocks(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        block = getattr(stmt, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body
    for case in getattr(stmt, "cases", ()):
        yield case.body


def _chain(body: list[ast.stmt], line: int) -> list[ast.stmt]:
    """The statements from the top level (``body``) down to the one that starts at
    ``line`` (1-based), descending through blocks only (no walk over the whole tree)."""
    chain: list[ast.stmt] = []
    while True:
        for stmt in body:
            if _start(stmt) <= line <= (stmt.end_lineno or stmt.lineno):
                chain.append(stmt)
                if _start(stmt) == line or stmt.lineno == line:
                    return chain
                inner = [b for b in _blocks(stmt)
                         if b and _start(b[0]) <= line <= (b[-1].end_lineno or b[-1].lineno)]
                if not inner:
                    return []
                body = inner[0]
                break
        else:
            return []


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a name or attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _local_walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` that does not enter nested functions, lambdas or classes."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child for child in ast.iter_child_nodes(current)
                     if not isinstance(child, _SCOPES))


def _is_step(call: ast.Call) -> bool:
    """A backward, or ``<optimizer>.step()``: the calls that make a training step."""
    func = call.func
    if isinstance(func, ast.Attribute):
        if func.attr == "backward":
            return True
        if func.attr == "step":
            receiver = _dotted(func.value) or ""
            return bool(_OPTIMIZER.search(receiver.rsplit(".", 1)[-1]))
    return False


def _trainers(blocks: _Blocks, scope: ast.AST) -> frozenset[str]:
    """Names called in ``scope`` of the file's functions and methods whose body makes a
    training step (``train_one_epoch(model, ...)`` trains where it is called). Only the
    functions ``scope`` calls are looked at: no walk over the whole file."""
    called = {name.rsplit(".", 1)[-1] for node in _local_walk(scope)
              if isinstance(node, ast.Call) and (name := _dotted(node.func))}
    names = set()
    for node in blocks.definitions(called):
        if any(isinstance(n, ast.Call) and _is_step(n) for n in _local_walk(node)):
            names.add(node.name)
    return frozenset(names)


def _definitions(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions and the methods of module-level classes."""
    for stmt in body:
        if isinstance(stmt, _FUNCTIONS):
            yield stmt
        elif isinstance(stmt, ast.ClassDef):
            yield from (s for s in stmt.body if isinstance(s, _FUNCTIONS))


def _calls_trainer(call: ast.Call, trainers: frozenset[str]) -> bool:
    name = _dotted(call.func)
    return name is not None and name.rsplit(".", 1)[-1] in trainers


# -- the evaluation block inside the training loop ------------------------------------------


def _loop_completion(doc: Doc, blocks: _Blocks, chain: list[ast.stmt], spec: FixSpec,
                     own: list[TextEdit]) -> list[Completion | None]:
    entity = spec.entity or ""
    scope = max((i for i, s in enumerate(chain) if isinstance(s, _FUNCTIONS)), default=-1)
    outer = next((s for s in chain[scope + 1:] if isinstance(s, _LOOPS)), None)
    if outer is None:
        return [None]
    trainers = _trainers(blocks, outer)
    after_loop: ast.stmt | None = None  # a training loop whose `else` holds the target
    for depth in range(len(chain) - 2, scope, -1):
        loop = chain[depth]
        if not isinstance(loop, _LOOPS) or not _trains(loop, trainers):
            continue
        child = chain[depth + 1]
        if not any(child is s for s in loop.body):
            after_loop = loop  # `for ...: train ... else: validate` runs once per outer pass
            continue
        start = next((s for s in loop.body if (s is not child or s is after_loop)
                      and _trains_with(s, entity, trainers)), None)
        if start is None:
            return [None]
        return [_insert_train(doc, start, entity, own)]
    return [None]


def _trains(node: ast.AST, trainers: frozenset[str]) -> bool:
    return any(isinstance(n, ast.Call) and (_is_step(n) or _calls_trainer(n, trainers))
               for n in _local_walk(node))


def _trains_with(stmt: ast.stmt, entity: str, trainers: frozenset[str]) -> bool:
    """``stmt`` is part of the training: it trains, forward-calls ``entity`` or passes
    it to a call."""
    for node in _local_walk(stmt):
        if not isinstance(node, ast.Call):
            continue
        if _is_step(node) or _calls_trainer(node, trainers):
            return True
        if _dotted(node.func) in (entity, f"{entity}.forward", f"{entity}.module"):
            return True
        args = [*node.args, *(k.value for k in node.keywords)]
        if any(_dotted(a) == entity for a in args):
            return True
    return False


def _insert_train(doc: Doc, before: ast.stmt, entity: str,
                  own: list[TextEdit]) -> Completion | None:
    code = f"{entity}.train()"
    first = _start(before) - 1
    last = (before.end_lineno or before.lineno) - 1
    edits = edits_for_fix(doc.text, FixSpec(kind=FixKind.INSERT_TRAIN, title="", safe=False,
                                            target_line=first, target_end_line=last, code=code,
                                            entity=entity), doc)
    if not edits:
        return None
    line = edits[0].range.start.line + 1
    return Completion(f"{code} at line {line}", tuple(own) + tuple(edits))


# -- the evaluate(model) helper ---------------------------------------------------------------


@dataclass(frozen=True)
class _CallSite:
    path: str
    text: str
    statement: ast.stmt
    argument: str  # the caller's expression for the helper's model parameter


def _helper_completions(doc: Doc, path: str, blocks: _Blocks, chain: list[ast.stmt],
                        spec: FixSpec, own: list[TextEdit],
                        project: Project | None) -> list[Completion | None]:
    func = chain[-1]
    assert isinstance(func, _FUNCTIONS)
    entity = spec.entity or ""
    root, _, rest = entity.partition(".")
    params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    method = len(chain) >= 2 and isinstance(chain[-2], ast.ClassDef)
    sites = list(_call_sites(path, blocks, func, method, params, root))
    if root not in params and root not in [a.arg for a in func.args.kwonlyargs]:
        # a global model: the same name where the helper is called in this file
        sites = [replace(site, argument=root) for site in sites] if not method else []
    elif not method and len(chain) == 1 and project is not None:
        sites.extend(_other_file_sites(path, func, params, root, project))
    found: list[Completion | None] = []
    if len(sites) == 1:
        found.append(_after_call(path, sites[0], f"{sites[0].argument}{'.' + rest if rest else ''}",
                                 own))
    found.append(_save_restore(doc, func, spec, own))
    return found


def _argument(call: ast.Call, params: list[str], root: str, method: bool) -> str | None:
    """The caller's expression bound to parameter ``root`` (a name or attribute chain)."""
    index = params.index(root) if root in params else -1
    if method:
        if index == 0:
            return _dotted(call.func.value) if isinstance(call.func, ast.Attribute) else None
        index -= 1
    for keyword in call.keywords:
        if keyword.arg == root:
            return _dotted(keyword.value)
    if 0 <= index < len(call.args) and not any(isinstance(a, ast.Starred)
                                               for a in call.args[:index + 1]):
        return _dotted(call.args[index])
    return None


def _call_sites(path: str, blocks: _Blocks, func: ast.stmt, method: bool,
                params: list[str], root: str, name: str | None = None) -> Iterator[_CallSite]:
    """Calls of ``func`` in ``tree`` (``self.f(...)`` for a method), with the statement
    that holds each call. A call whose argument cannot be named still counts. The
    lines that mention the name are found in the text; only their statements are
    looked at."""
    wanted: str = name or str(getattr(func, "name", ""))
    seen: set[int] = set()
    pattern = re.compile(r"\b" + re.escape(wanted) + r"\b")
    for index, line in enumerate(blocks.lines):
        if wanted not in line or not pattern.search(line):
            continue
        stmt = _innermost(blocks.body_at(index + 1), index + 1)
        if stmt is None or id(stmt) in seen:
            continue
        seen.add(id(stmt))
        for node in _own_expressions(stmt):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func
            if method:
                hit = (isinstance(callee, ast.Attribute) and callee.attr == wanted
                       and isinstance(callee.value, ast.Name) and callee.value.id == "self")
            else:
                hit = isinstance(callee, ast.Name) and callee.id == wanted
            if hit:
                yield _CallSite(path, blocks.text, stmt,
                                _argument(node, params, root, method) or "")


def _innermost(body: list[ast.stmt], line: int) -> ast.stmt | None:
    """The innermost statement whose own lines (not its nested blocks) hold ``line``."""
    found = None
    while True:
        stmt = next((s for s in body
                     if _start(s) <= line <= (s.end_lineno or s.lineno)), None)
        if stmt is None:
            return found
        found = stmt
        inner = [b for b in _blocks(stmt)
                 if b and _start(b[0]) <= line <= (b[-1].end_lineno or b[-1].lineno)]
        if not inner:
            return found
        body = inner[0]


def _own_expressions(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The nodes of ``stmt`` outside its nested blocks (a compound statement's header)."""
    nested = {id(s) for block in _blocks(stmt) for s in block}
    stack: list[ast.AST] = [c for c in ast.iter_child_nodes(stmt)
                            if id(c) not in nested and not isinstance(c, ast.stmt)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, _SCOPES))


def _other_file_sites(path: str, func: ast.stmt, params: list[str], root: str,
                      project: Project) -> Iterator[_CallSite]:
    """Calls of a top-level helper from the other files of the project that import it
    with ``from <module> import <helper>``."""
    name = getattr(func, "name", "")
    module = os.path.splitext(os.path.basename(path))[0]
    for other, text in project_texts(project, name):
        if os.path.abspath(other) == os.path.abspath(path):
            continue
        blocks = _Blocks(text)
        for local in _imported_as(blocks.module(), module, name):
            yield from _call_sites(other, blocks, func, False, params, root, local)


def _imported_as(tree: ast.Module, module: str, name: str) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").rsplit(".", 1)[-1] == module:
            for alias in node.names:
                if alias.name == name:
                    yield alias.asname or name


def project_texts(project: Project, word: str) -> Iterator[tuple[str, str]]:
    """(path, text) of the files of the project (open documents' texts included) whose
    text contains ``word``: the facts answer it themselves (and record the question
    when a stored result depends on it)."""
    from ..project import ProjectIndex

    if not isinstance(project, ProjectIndex):
        yield from project.texts_containing(word)
        return
    for entry in list(project.entries.values()):
        text = entry.read()  # from disk when the index holds no text
        if text and word in text:
            yield entry.path, text


def _after_call(path: str, site: _CallSite, target: str,
                own: list[TextEdit]) -> Completion | None:
    """``<target>.train()`` on a new line right after the call's statement."""
    stmt = site.statement
    if not site.argument or not isinstance(stmt, _SIMPLE):
        return None
    doc = Doc(site.text)
    first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
    line = doc.content(last)
    indent = leading_ws(doc.content(first))
    if len(indent) != stmt.col_offset or _rest_of_line(line, stmt.end_col_offset or 0):
        return None  # shares its line with another statement (`a; b`)
    code = f"{target}.train()"
    edit = _append_line(doc, last, indent + code)
    where = f"line {last + 2}"
    if os.path.abspath(path) == os.path.abspath(site.path):
        return Completion(f"{code} at {where}", tuple(own) + (edit,))
    other = FileEdits(site.path, site.text, (edit,))
    return Completion(f"{code} at {where} of {os.path.basename(site.path)}", tuple(own),
                      (other,))


def _rest_of_line(line: str, end_col: int) -> bool:
    """Code after column ``end_col`` (UTF-8 bytes, as ``ast`` counts) other than a comment."""
    rest = line.encode("utf-8")[end_col:].decode("utf-8", "replace").strip()
    return bool(rest) and not rest.startswith("#")


def _append_line(doc: Doc, line: int, content: str) -> TextEdit:
    """A new line after ``line``, inserted at its end: in a notebook it stays in the
    cell of ``line`` even when ``line`` is the cell's last."""
    return TextEdit.insert(line, utf16_len(doc.content(line)), doc.eol + content)


def _save_restore(doc: Doc, func: ast.stmt, spec: FixSpec,
                  own: list[TextEdit]) -> Completion | None:
    assert isinstance(func, _FUNCTIONS)
    entity = spec.entity or ""
    nodes = list(_local_walk(func))
    if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in nodes):
        return None  # a generator: its caller runs between the steps
    names = {n.id for n in nodes if isinstance(n, ast.Name)} | {
        a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)}
    flag = "was_training"
    while flag in names:
        flag = "_" + flag
    save = edits_for_fix(doc.text, replace(spec, code=f"{flag} = {entity}.training",
                                           import_line=None), doc)
    if not save:
        return None
    restore = f"{entity}.train({flag})"
    edits = list(save) + list(own)
    for node in nodes:
        if isinstance(node, ast.Return):
            edit = _before_return(doc, node, entity, restore)
            if edit is None:
                return None
            edits.append(edit)
    last = func.body[-1]
    if not isinstance(last, (ast.Return, ast.Raise)):
        end = (last.end_lineno or last.lineno) - 1
        indent = leading_ws(doc.content(func.body[0].lineno - 1))
        edits.append(_append_line(doc, end, indent + restore))
    return Completion(f"{restore} on every return", tuple(edits))


def _before_return(doc: Doc, node: ast.Return, entity: str, restore: str) -> TextEdit | None:
    line = doc.content(node.lineno - 1)
    indent = leading_ws(line)
    if len(indent) != node.col_offset:
        return None  # `if done: return x` on one line
    root = entity.split(".", 1)[0]
    if node.value is not None and any(
            isinstance(n, ast.Name) and n.id == root for n in ast.walk(node.value)):
        return None  # the return value still uses the model: restoring first changes it
    return TextEdit.insert(node.lineno - 1, 0, indent + restore + doc.eol)


__all__ = ["Completion", "FileEdits", "completions", "project_texts"]
