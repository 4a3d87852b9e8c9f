"""Parsing the next version of a document from its last parse: the top-level
statements before the edit are kept, only the text from there on is parsed again.

Where the old and the new text differ, lines ``F`` on are cut at a line ``C <= F``
where a top-level statement of the old parse starts (at its first decorator). The
lines before ``C`` are the same in both texts, so the tokenizer and the parser reach
``C`` in the same clean state (no open bracket or string, indentation 0): the
statements before ``C`` are those of the old parse, and the module's remaining
statements are what ``ast.parse`` makes of the text from ``C`` on, their line
numbers counted from the text's first line. When the edit changes no line count, the
statements after it are kept too, cut the same way at a line ``D`` after the edit
where an old statement starts: the region between parses as a whole module only
if it closes every bracket and string it opens, so ``D`` starts a statement in the
new text as well. When the edit begins inside a top-level class or function, the
same cut is made one level down, between the statements of its body (typing in a
method parses that method). Anything else (no old parse, a region that does not parse, text
with ``\\r`` line ends or a BOM) is parsed whole, so errors are ``parse_python``'s.

A test checks the result against ``ast.parse`` (every node, every position) over
random edits of real files.

The old tree's statements become part of the new one: the analysis reads trees and
never changes them.
"""

from __future__ import annotations

import ast
import copy
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

from .source import SourceSyntaxError, parse_python


@dataclass(frozen=True)
class Parsed:
    """A text and its parse."""

    text: str
    tree: ast.Module


def parse_after(previous: Parsed | None, text: str, path: str = "<unknown>") -> ast.Module:
    """The parse of ``text``, reusing the statements of ``previous`` the edit left alone.
    Raises ``SourceSyntaxError`` exactly when ``parse_python`` does."""
    if previous is None or not _reusable(previous.text) or not _reusable(text):
        return parse_python(text, path)
    if text == previous.text:
        return previous.tree
    edit = _Edit.between(previous.text, text)
    starts = [_first_line(stmt) for stmt in previous.tree.body]   # 1-based, ascending
    try:
        tree = _parse_in_body(previous.tree, starts, edit, path) or \
            _parse_at_top(previous.tree, starts, edit, path)
    except SourceSyntaxError:
        tree = None
    return tree if tree is not None else parse_python(text, path)  # errors: the whole text's


@dataclass(frozen=True)
class _Edit:
    """Where two versions of a text differ, in 1-based lines."""

    new_lines: list[str]
    first: int          # the first line that differs
    last: int | None    # the last one, when both versions have as many lines

    @classmethod
    def between(cls, old: str, new: str) -> _Edit:
        old_lines, new_lines = old.split("\n"), new.split("\n")
        first = _first_difference(old_lines, new_lines) + 1
        last = None
        if len(old_lines) == len(new_lines):
            last = _last_difference(old_lines, new_lines) + 1
        return cls(new_lines, first, last)

    def region(self, cut: int, end: int | None, header: str = "") -> str:
        """Lines ``cut`` to ``end`` (the last line when None) of the new text, after
        blank lines in place of those before (so the parse numbers lines as the text
        does) and ``header`` on the line just before ``cut``."""
        lines = self.new_lines[cut - 1:end]
        blank = "\n" * (cut - 1 - (1 if header else 0))
        return blank + header + "\n".join(lines) + ("\n" if end is not None else "")


def _parse_at_top(tree: ast.Module, starts: list[int], edit: _Edit, path: str
                  ) -> ast.Module | None:
    """Cut between top-level statements (module docstring above); ``starts``: their
    first lines."""
    body = tree.body
    kept = _statements_before(body, starts, edit.first)
    if not kept:
        return None
    tail, end = _tail(body, starts, edit)
    middle = parse_python(edit.region(starts[kept], end), path)
    return ast.Module(body=[*body[:kept], *middle.body, *tail], type_ignores=[])


def _parse_in_body(tree: ast.Module, starts: list[int], edit: _Edit, path: str
                   ) -> ast.Module | None:
    """Cut between the statements of the top-level class or function the edit begins
    in (typing in a method parses that method, not its whole class). The region is
    parsed under an ``if 1:`` on the line above: an indented block that ends where the
    text dedents to the module's level, as the class or function body does."""
    body = tree.body
    index = bisect_left(starts, edit.first + 1) - 1
    if index < 0:
        return None
    outer = body[index]
    if not isinstance(outer, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) or \
            (outer.end_lineno or 0) < edit.first:
        return None
    inner = outer.body
    inner_starts = [_first_line(stmt) for stmt in inner]
    kept = _statements_before(inner, inner_starts, edit.first)
    if kept is None:
        return None
    cut = inner_starts[kept]
    if cut <= outer.lineno or not edit.new_lines[cut - 1][:1].isspace():
        return None   # a body on its header's line (``class A: x = 1``)
    inner_tail, inner_end = _tail(inner, inner_starts, edit)
    if inner_tail:
        return _spliced(tree, index, kept, edit.region(cut, inner_end, "if 1:\n"), path,
                        inner_tail=inner_tail)
    tail, end = _tail(body, starts, edit)
    return _spliced(tree, index, kept, edit.region(cut, end, "if 1:\n"), path, tail=tail)


def _spliced(tree: ast.Module, index: int, kept: int, region: str, path: str, *,
             inner_tail: list[ast.stmt] | None = None,
             tail: list[ast.stmt] | None = None) -> ast.Module | None:
    """The module with statement ``index``'s body cut after ``kept`` statements and
    continued by what ``region`` (under its ``if 1:``) parses to; with ``inner_tail``
    the body's old statements after the region follow, else the region's own
    top-level statements and ``tail`` follow the cut statement."""
    parsed = parse_python(region, path).body
    block = parsed[0]
    if not isinstance(block, ast.If) or block.orelse or (inner_tail and len(parsed) > 1):
        return None   # an ``else:`` at column 0 took our ``if``; a dedent before the tail
    outer = copy.copy(tree.body[index])
    assert isinstance(outer, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    outer.body = [*outer.body[:kept], *block.body, *(inner_tail or ())]
    if inner_tail:    # the body's end and every statement after it are as they were
        return ast.Module(body=[*tree.body[:index], outer, *tree.body[index + 1:]],
                          type_ignores=[])
    outer.end_lineno, outer.end_col_offset = block.end_lineno, block.end_col_offset
    return ast.Module(body=[*tree.body[:index], outer, *parsed[1:], *(tail or ())],
                      type_ignores=[])


def _tail(body: list[ast.stmt], starts: list[int], edit: _Edit
          ) -> tuple[list[ast.stmt], int | None]:
    """The statements of ``body`` after the edit that stay as they were (only when the
    edit kept the line count) and the last line of the region before them."""
    if edit.last is None:
        return [], None
    after = _statement_after(starts, edit.last)
    if after is None:
        return [], None
    return body[after:], starts[after] - 1


def _reusable(text: str) -> bool:
    """Text whose lines split at ``\\n`` alone, as Python counts them, and whose parse
    no future import changes."""
    return "\r" not in text and not text.startswith("\ufeff") and "barry_as_FLUFL" not in text


def _first_difference(old: list[str], new: list[str]) -> int:
    limit = min(len(old), len(new))
    index = 0
    while index < limit and old[index] == new[index]:
        index += 1
    return index


def _last_difference(old: list[str], new: list[str]) -> int:
    """The last differing line (0-based; the texts have as many lines and differ)."""
    index = len(old) - 1
    while index >= 0 and old[index] == new[index]:
        index -= 1
    return index


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None)
    if decorators:
        return min(stmt.lineno, *(d.lineno for d in decorators))
    return stmt.lineno


def _statements_before(body: list[ast.stmt], starts: list[int], changed: int) -> int | None:
    """How many leading statements to keep, None if none starts before line ``changed``:
    those before the last one starting before ``changed``, which an edit on ``changed``
    may extend, and ending before its line (``x = (\n1); y = 2``: ``x`` goes too)."""
    kept = bisect_left(starts, changed) - 1
    if kept < 0:
        return None
    cut = starts[kept]
    while kept > 0 and (starts[kept - 1] == cut or (body[kept - 1].end_lineno or 0) >= cut):
        kept -= 1
        cut = starts[kept]
    return kept


def _statement_after(starts: list[int], changed: int) -> int | None:
    """The first statement starting after line ``changed`` (1-based) on a line of its
    own start, if any."""
    index = bisect_left(starts, changed + 1)
    return index if index < len(starts) else None


class LastParse:
    """The last parse made of one document, for its next version to start from. One
    slot: typing goes on in one document at a time, and a tree (about 1.4 KB a line)
    is kept for one only."""

    def __init__(self) -> None:
        self.kept: tuple[str, Parsed] | None = None   # (path, its last parse)

    def parser(self, path: str) -> Callable[[str, str], ast.Module]:
        """A parse for ``path``'s next version (``analyze``'s ``parse``): it reuses the
        last parse of ``path`` and is kept in its place when the text parses."""
        kept = self.kept
        previous = kept[1] if kept is not None and kept[0] == path else None

        def parse(text: str, path: str) -> ast.Module:
            tree = parse_after(previous, text, path)
            self.kept = (path, Parsed(text, tree))
            return tree

        return parse

    def forget(self, path: str | None = None) -> None:
        """Drop the kept parse (of ``path`` only, if given)."""
        kept = self.kept
        if path is None or (kept is not None and kept[0] == path):
            self.kept = None
