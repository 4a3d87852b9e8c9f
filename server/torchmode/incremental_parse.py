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
new text as well. Anything else (no old parse, a region that does not parse, text
with ``\\r`` line ends or a BOM) is parsed whole, so errors are ``parse_python``'s.

A test checks the result against ``ast.parse`` (every node, every position) over
random edits of real files.

The old tree's statements become part of the new one: the analysis reads trees and
never changes them.
"""

from __future__ import annotations

import ast
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
    old_lines = previous.text.split("\n")
    new_lines = text.split("\n")
    first = _first_difference(old_lines, new_lines)           # 0-based line index
    body = previous.tree.body
    starts = [_first_line(stmt) for stmt in body]              # 1-based, ascending
    kept = _statements_before(body, starts, first + 1)
    if kept == 0:
        return parse_python(text, path)
    cut = starts[kept]
    tail: list[ast.stmt] = []
    end = len(new_lines)
    if len(old_lines) == len(new_lines):
        after = _statement_after(starts, _last_difference(old_lines, new_lines) + 1)
        if after is not None:
            tail = body[after:]
            end = starts[after] - 1
    # blank lines in place of the kept ones: the parse numbers the lines as the text does
    region = "\n" * (cut - 1) + "\n".join(new_lines[cut - 1:end]) + ("\n" if tail else "")
    try:
        middle = parse_python(region, path)
    except SourceSyntaxError:
        return parse_python(text, path)  # the error's position in the whole text
    return ast.Module(body=[*body[:kept], *middle.body, *tail], type_ignores=[])


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


def _statements_before(body: list[ast.stmt], starts: list[int], changed: int) -> int:
    """How many leading statements to keep: those before the last one starting on a
    line before ``changed`` (1-based), which an edit on ``changed`` may extend, and
    ending before its line (``x = (\n1); y = 2``: ``x`` goes too)."""
    kept = bisect_left(starts, changed) - 1
    if kept < 0:
        return 0
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
