"""Text edits with LSP positions, and the arithmetic around them.

Everything here works on the file's own text: line endings are kept as they
are (``\\r\\n``, ``\\n`` or none at the end), columns are UTF-16 code units
as in LSP, and an edit is applied by splicing strings, so every character
outside an edit stays byte-for-byte the same.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..findings import Position, Range
from ..source import codepoint_index, split_lines, utf16_len


@dataclass(frozen=True)
class TextEdit:
    """Replace ``range`` (UTF-16 positions) by ``new_text``; an empty range inserts."""

    range: Range
    new_text: str

    def to_dict(self) -> dict[str, Any]:
        return {"range": self.range.to_dict(), "newText": self.new_text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextEdit:
        return cls(Range.from_dict(data["range"]), data.get("newText", data.get("new_text", "")))

    @classmethod
    def insert(cls, line: int, character: int, text: str) -> TextEdit:
        pos = Position(line, character)
        return cls(Range(pos, pos), text)


class LineIndex:
    """Line starts of a text, for offset <-> (line, UTF-16 column) conversion."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: list[str] = split_lines(text)
        starts = [0]
        for line in self.lines:
            starts.append(starts[-1] + len(line))
        # ``starts[i]`` is the offset of line i; the last entry is len(text).
        self.starts = starts

    def line_text(self, line: int) -> str:
        """Line ``line`` without its line ending ('' past the end)."""
        if 0 <= line < len(self.lines):
            return self.lines[line].rstrip("\r\n")
        return ""

    def offset(self, position: Position) -> int:
        """Offset in ``text`` of an LSP position; positions past a line's end clamp to it,
        positions past the last line clamp to the end of the text."""
        if position.line >= len(self.lines):
            return len(self.text)
        if position.line < 0:
            return 0
        content = self.line_text(position.line)
        return self.starts[position.line] + codepoint_index(content, position.character)

    def position(self, offset: int) -> Position:
        """LSP position of an offset (the end of the text included)."""
        offset = max(0, min(offset, len(self.text)))
        if offset == len(self.text):
            if not self.lines:
                return Position(0, 0)
            last = self.lines[-1]
            if last.endswith(("\n", "\r")):
                return Position(len(self.lines), 0)
            return Position(len(self.lines) - 1, utf16_len(last))
        line = bisect_right(self.starts, offset) - 1
        column_text = self.text[self.starts[line]:offset]
        return Position(line, utf16_len(column_text))

    def end_position(self) -> Position:
        return self.position(len(self.text))


def _sorted_spans(index: LineIndex, edits: Iterable[TextEdit]) -> list[tuple[int, int, str]]:
    """Edits as (start offset, end offset, text), in text order; inserts at one
    position keep the order they were given in. Overlapping edits are refused."""
    spans = []
    for order, edit in enumerate(edits):
        start = index.offset(edit.range.start)
        end = index.offset(edit.range.end)
        if end < start:
            raise ValueError(f"edit with reversed range: {edit}")
        spans.append((start, end, order, edit.new_text))
    spans.sort(key=lambda s: (s[0], s[1], s[2]))
    result: list[tuple[int, int, str]] = []
    last_end = 0
    for start, end, _, new_text in spans:
        if start < last_end:
            raise ValueError("overlapping edits")
        result.append((start, end, new_text))
        last_end = max(last_end, end)
    return result


def apply_edits(text: str, edits: Sequence[TextEdit]) -> str:
    """Apply non-overlapping edits computed against ``text``.

    Inserts at the same position are applied in the order given (so an
    ``import`` added by one edit comes before a statement added by the next).
    """
    if not edits:
        return text
    index = LineIndex(text)
    parts: list[str] = []
    cursor = 0
    for start, end, new_text in _sorted_spans(index, edits):
        parts.append(text[cursor:start])
        parts.append(new_text)
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


class PositionMap:
    """Where a position of the old text ends up after the edits were applied.

    A position inside a replaced range maps to the start of its replacement;
    a position at an insertion point maps past the inserted text (the
    inserted text goes before what was there).
    """

    def __init__(self, old: str, new: str, edits: Sequence[TextEdit]) -> None:
        self._old = LineIndex(old)
        self._new = LineIndex(new)
        self._spans = _sorted_spans(self._old, edits)

    def map(self, position: Position) -> Position:
        offset = self._old.offset(position)
        delta = 0
        for start, end, new_text in self._spans:
            if start > offset:
                break
            if end <= offset:
                delta += len(new_text) - (end - start)
            else:  # inside a replaced range
                return self._new.position(start + delta)
        return self._new.position(offset + delta)


def diff_edits(old: str, new: str) -> list[TextEdit]:
    """Line-granular minimal edits turning ``old`` into ``new`` (difflib on lines,
    after trimming the common head and tail so big files cost little)."""
    if old == new:
        return []
    old_lines = split_lines(old)
    new_lines = split_lines(new)
    head = 0
    limit = min(len(old_lines), len(new_lines))
    while head < limit and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while (tail < limit - head
           and old_lines[len(old_lines) - 1 - tail] == new_lines[len(new_lines) - 1 - tail]):
        tail += 1
    old_mid = old_lines[head:len(old_lines) - tail]
    new_mid = new_lines[head:len(new_lines) - tail]
    index = LineIndex(old)
    # Without autojunk, lines repeated hundreds of times (``total = 0``) make difflib
    # quadratic; with it the diff may be less minimal, never wrong.
    matcher = difflib.SequenceMatcher(None, old_mid, new_mid,
                                      autojunk=len(old_mid) + len(new_mid) > 2000)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start = index.position(index.starts[head + i1])
        end = index.position(index.starts[head + i2])
        edits.append(TextEdit(Range(start, end), "".join(new_mid[j1:j2])))
    return edits


class Doc:
    """A file's text, its lines and its line ending; cheap (no parsing)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = LineIndex(text)
        self.lines = self.index.lines

    @cached_property
    def eol(self) -> str:
        """The file's line ending: the first one it uses, ``\\n`` when it has none."""
        for line in self.lines:
            if line.endswith("\r\n"):
                return "\r\n"
            if line.endswith("\n"):
                return "\n"
            if line.endswith("\r"):
                return "\r"
        return "\n"

    def content(self, line: int) -> str:
        return self.index.line_text(line)

    def has_eol(self, line: int) -> bool:
        return 0 <= line < len(self.lines) and self.lines[line] != self.content(line)
