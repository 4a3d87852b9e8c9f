"""What one analysis looks at: a snapshot of a text document or of a notebook.

A notebook's code cells are joined in order with ``NotebookText`` and analysed as
one program; ``Snapshot`` maps lines of the joined text back to each cell's URI and
line, and cell lines to joined lines (for hovers and code actions on a cell).
Columns never change between the two (magics are masked in place).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

from ..notebook import BrokenCell, NotebookText
from ..source import SourceText

BOM = "\ufeff"


@dataclass(frozen=True)
class CellRef:
    uri: str
    version: int | None
    index: int  # index among all cells of the notebook
    ends_newline: bool = True  # the cell's text ends with a line break (joining adds one)


@dataclass(frozen=True)
class Snapshot:
    """Text and version of a document (or notebook) at the moment analysis started."""

    key: str  # the text document URI, or the notebook URI
    version: int | None
    text: str
    path: str  # file system path when there is one, else the URI
    cells: tuple[CellRef, ...] = ()  # notebooks: code cells in order
    start_lines: tuple[int, ...] = ()  # notebooks: first joined line of each cell
    # The document starts with a byte order mark, left out of ``text`` (Python rejects
    # it inside source text): client columns on line 0 are one further right.
    bom: bool = False
    # notebooks: code cells that do not parse, left out of the analysis (RULES §2a)
    broken: tuple[BrokenCell, ...] = ()

    @property
    def is_notebook(self) -> bool:
        return bool(self.cells) or self.key.endswith(".ipynb")

    @cached_property
    def source(self) -> SourceText:
        return SourceText(self.text, self.path)

    def slot_of_line(self, joined_line: int) -> int | None:
        if not self.cells:
            return None
        return max(bisect_right(self.start_lines, joined_line) - 1, 0)

    def locate(self, joined_line: int) -> tuple[str, int, int | None]:
        """(URI, line in that document, its version) of a line of the analysed text."""
        slot = self.slot_of_line(joined_line)
        if slot is None:
            return self.key, joined_line, self.version
        cell = self.cells[slot]
        return cell.uri, joined_line - self.start_lines[slot], cell.version

    def joined_line(self, uri: str, line: int) -> int | None:
        """Line of the analysed text for ``line`` of document ``uri`` (None: not ours)."""
        if not self.cells:
            return line if uri == self.key else None
        for slot, cell in enumerate(self.cells):
            if cell.uri == uri:
                return self.start_lines[slot] + line
        return None

    def uris(self) -> list[str]:
        return [c.uri for c in self.cells] if self.cells else [self.key]


def text_snapshot(uri: str, version: int | None, text: str, path: str) -> Snapshot:
    if text.startswith(BOM):
        return Snapshot(key=uri, version=version, text=text[1:], path=path, bom=True)
    return Snapshot(key=uri, version=version, text=text, path=path)


def notebook_snapshot(
    uri: str, version: int | None, path: str, code_cells: list[tuple[int, str, int | None, str]]
) -> Snapshot:
    """``code_cells``: (notebook cell index, cell URI, cell version, cell text) in order."""
    joined = NotebookText.from_cells(
        [(index, text) for index, _, _, text in code_cells]
    )
    cells = tuple(
        CellRef(cell_uri, cell_version, index, text.endswith("\n") or not text)
        for index, cell_uri, cell_version, text in code_cells
    )
    return Snapshot(
        key=uri,
        version=version,
        text=joined.text,
        path=path,
        cells=cells,
        start_lines=joined.start_lines,
        broken=joined.broken,
    )
