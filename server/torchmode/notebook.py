"""Jupyter notebooks as one program: code cells joined in order.

The engine analyses the joined text; ``NotebookText`` maps its lines back to
(cell, line). IPython magics (``%matplotlib``, ``!pip``) are masked as comments
of the same length so that columns stay exact.
"""

from __future__ import annotations

import ast
import json
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from .source import split_lines


@dataclass(frozen=True)
class CellLocation:
    cell: int  # index among all cells of the notebook (markdown included)
    line: int  # 0-based line inside the cell


def mask_magics(cell_source: str) -> str:
    """Turn IPython-only lines into comments without moving any column.

    A cell run by a cell magic (``%%bash``, ``%%writefile``) is not Python at all:
    its lines are kept (later cells keep their positions) but left empty. A line
    that continues an open bracket, string or backslash is Python, never a magic
    (``% (a, b)`` there is the modulo operator). When a block's body is only
    magics, each magic becomes ``pass`` followed by the comment, so the block
    still parses (RULES.md §2a).
    """
    first = next((line for line in split_lines(cell_source) if line.strip()), "")
    if first.lstrip().startswith("%%"):
        return "\n" * cell_source.count("\n") + ("" if cell_source.endswith("\n") else "\n")
    lines = split_lines(cell_source)
    magics = _magic_lines(lines)
    if not magics:
        return cell_source
    masked = _masked(lines, magics, placeholder=False)
    if _parses(masked):
        return masked
    with_pass = _masked(lines, magics, placeholder=True)
    return with_pass if _parses(with_pass) else masked


def _magic_lines(lines: list[str]) -> set[int]:
    """Indices of line magics, shell escapes and help queries that start a statement."""
    found: set[int] = set()
    scan = _Scanner()
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        help_query = stripped.startswith("?") and stripped.strip() != "?"
        if not scan.continuing and (stripped.startswith(("%", "!")) or help_query):
            found.add(index)
            continue
        scan.feed(line)
    return found


def _masked(lines: list[str], magics: set[int], placeholder: bool) -> str:
    out = []
    for index, line in enumerate(lines):
        if index in magics:
            stripped = line.lstrip()
            indent = line[: len(line) - len(stripped)]
            line = indent + ("pass  #" if placeholder else "#") + stripped[1:]
        out.append(line)
    return "".join(out)


def _parses(text: str) -> bool:
    return _syntax_error(text) is None


def _syntax_error(text: str) -> tuple[int, int, str] | None:
    """(0-based line, 0-based column, message) of the first syntax error, or None."""
    try:
        compile(text, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as exc:
        return max((exc.lineno or 1) - 1, 0), max((exc.offset or 1) - 1, 0), exc.msg
    except ValueError as exc:  # null bytes
        return 0, 0, str(exc)
    return None


class _Scanner:
    """Just enough of Python's tokenizer to tell whether the next line continues this
    one: open brackets, an open triple-quoted string, a trailing backslash."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None   # the open triple quote, if any
        self.backslash = False

    @property
    def continuing(self) -> bool:
        return self.depth > 0 or self.quote is not None or self.backslash

    def feed(self, line: str) -> None:
        text = line.rstrip("\r\n")
        i, n = 0, len(text)
        self.backslash = False
        while i < n:
            if self.quote is not None:
                end = text.find(self.quote, i)
                if end < 0:
                    return
                i, self.quote = end + 3, None
                continue
            ch = text[i]
            if ch == "#":
                return
            if ch in "\"'":
                if text.startswith(ch * 3, i):
                    self.quote = ch * 3
                    i += 3
                    continue
                i = _string_end(text, i + 1, ch)
                continue
            if ch in "([{":
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(self.depth - 1, 0)
            elif ch == "\\" and i == n - 1:
                self.backslash = True
            i += 1


def _string_end(text: str, i: int, quote: str) -> int:
    """Index after the closing ``quote`` of a one-line string (end of line if none)."""
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return len(text)


_MESSAGE_LINE = re.compile(r"\bline (\d+)\b")


def cell_message(message: str, cell_indices: Sequence[int], start_lines: Sequence[int]) -> str:
    """``line 17`` in an engine message (a 1-based line of the joined cells) becomes
    ``cell 3, line 4`` as the user sees it (cells numbered from 1 among all cells,
    as Jupyter shows them). Shared by the CLI and the language server."""
    if not start_lines:
        return message

    def relabel(match: re.Match[str]) -> str:
        joined = int(match.group(1)) - 1
        slot = max(bisect_right(start_lines, joined) - 1, 0)
        return f"cell {cell_indices[slot] + 1}, line {joined - start_lines[slot] + 1}"

    return _MESSAGE_LINE.sub(relabel, message)


@dataclass(frozen=True)
class BrokenCell:
    """A code cell that does not parse (an unfinished exercise): left out of the analysis."""

    cell: int       # index among all cells of the notebook (markdown included)
    line: int       # 0-based line inside the cell
    column: int     # 0-based column
    message: str

    def describe(self) -> str:
        """``cell 12, line 4, column 7: not analysed (syntax error: invalid syntax)``
        (1-based, as Jupyter shows it)."""
        return (f"cell {self.cell + 1}, line {self.line + 1}, column {self.column + 1}: "
                f"not analysed (syntax error: {self.message})")


@dataclass(frozen=True)
class NotebookText:
    """Code cells joined into one text, with the start line of each cell. A cell that
    does not parse is joined as empty lines (its positions kept) and listed in
    ``broken``, so one unfinished cell never hides the findings of the others."""

    text: str
    cell_indices: tuple[int, ...]   # notebook cell index of each joined code cell
    start_lines: tuple[int, ...]    # first joined line of each code cell
    broken: tuple[BrokenCell, ...] = ()

    @classmethod
    def from_cells(cls, cells: list[tuple[int, str]]) -> NotebookText:
        """``cells``: (notebook cell index, source) for each code cell, in order."""
        parts: list[str] = []
        starts: list[int] = []
        broken: list[BrokenCell] = []
        line = 0
        for index, source in cells:
            starts.append(line)
            body = mask_magics(source)
            if body and not body.endswith("\n"):
                body += "\n"
            error = _syntax_error(body)
            if error is not None:
                broken.append(BrokenCell(index, *error))
                body = "\n" * body.count("\n")
            parts.append(body)
            line += body.count("\n")
        return cls("".join(parts), tuple(i for i, _ in cells), tuple(starts), tuple(broken))

    @classmethod
    def from_ipynb(cls, data: str) -> NotebookText:
        """Parse ``.ipynb`` JSON; raises ``ValueError`` with a clear reason."""
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as exc:
            reason = f"JSON error: {exc.msg} at line {exc.lineno}"
            raise ValueError(f"not a valid notebook ({reason})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
            raise ValueError("not a valid notebook (no 'cells' list)")
        cells: list[tuple[int, str]] = []
        for index, cell in enumerate(doc["cells"]):
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(str(s) for s in source)
            cells.append((index, str(source)))
        return cls.from_cells(cells)

    def locate(self, joined_line: int) -> CellLocation:
        """Map a 0-based line of the joined text to its cell and line."""
        if not self.start_lines:
            return CellLocation(0, joined_line)
        slot = max(bisect_right(self.start_lines, joined_line) - 1, 0)
        return CellLocation(self.cell_indices[slot], joined_line - self.start_lines[slot])

    def cell_message(self, message: str) -> str:
        """An engine message with its joined-text lines named by cell and line."""
        return cell_message(message, self.cell_indices, self.start_lines)

    def joined_line(self, slot: int, line: int) -> int:
        """0-based joined line of ``line`` in the ``slot``-th code cell."""
        return self.start_lines[slot] + line
