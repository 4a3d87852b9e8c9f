"""Jupyter notebooks as one program: code cells joined in order.

The engine analyses the joined text; ``NotebookText`` maps its lines back to
(cell, line). IPython magics (``%matplotlib``, ``!pip``) are masked as comments
of the same length so that columns stay exact.
"""

from __future__ import annotations

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
    its lines are kept (later cells keep their positions) but left empty.
    """
    first = next((line for line in split_lines(cell_source) if line.strip()), "")
    if first.lstrip().startswith("%%"):
        return "\n" * cell_source.count("\n") + ("" if cell_source.endswith("\n") else "\n")
    out = []
    for line in split_lines(cell_source):
        stripped = line.lstrip()
        help_query = stripped.startswith("?") and stripped.strip() != "?"
        if stripped.startswith(("%", "!")) or help_query:
            indent = len(line) - len(stripped)
            line = line[:indent] + "#" + stripped[1:]
        out.append(line)
    return "".join(out)


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
class NotebookText:
    """Code cells joined into one text, with the start line of each cell."""

    text: str
    cell_indices: tuple[int, ...]   # notebook cell index of each joined code cell
    start_lines: tuple[int, ...]    # first joined line of each code cell

    @classmethod
    def from_cells(cls, cells: list[tuple[int, str]]) -> NotebookText:
        """``cells``: (notebook cell index, source) for each code cell, in order."""
        parts: list[str] = []
        starts: list[int] = []
        line = 0
        for _, source in cells:
            starts.append(line)
            body = mask_magics(source)
            if body and not body.endswith("\n"):
                body += "\n"
            parts.append(body)
            line += body.count("\n")
        return cls("".join(parts), tuple(i for i, _ in cells), tuple(starts))

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
