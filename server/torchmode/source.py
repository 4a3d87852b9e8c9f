"""Source text, parsing and positions.

Python's ``ast`` reports columns as UTF-8 byte offsets; LSP speaks UTF-16 code
units (by default). Everything that leaves the engine goes through
``SourceText`` so that one conversion is used everywhere.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property

from .findings import Position, Range


class SourceSyntaxError(Exception):
    """The text does not parse. ``line`` is 0-based."""

    def __init__(self, message: str, line: int, character: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.character = character

    def __str__(self) -> str:
        return f"syntax error at line {self.line + 1}, column {self.character + 1}: {self.message}"


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split the way Python and LSP count lines: only
    at ``\r\n``, ``\r`` and ``\n`` (``str.splitlines`` also splits at form feeds
    and U+2028, which would shift every line number after them)."""
    return _LINE.findall(text)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass
class SourceText:
    """A file's text with line access and position conversion."""

    text: str
    path: str = "<unknown>"
    _lines: list[str] | None = field(default=None, init=False, repr=False)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = split_lines(self.text) or [""]
        return self._lines

    def line_text(self, line: int) -> str:
        """The 0-based line without its line ending ('' past the end)."""
        lines = self.lines
        if 0 <= line < len(lines):
            return lines[line].rstrip("\r\n")
        return ""

    def utf16_column(self, line: int, byte_col: int) -> int:
        """Convert an ``ast`` column (UTF-8 bytes) on 0-based ``line`` to UTF-16 units."""
        text = self.line_text(line)
        if text.isascii():
            return byte_col
        prefix = text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")
        return utf16_len(prefix)

    def node_range(self, node: ast.AST) -> Range:
        """The LSP range of an ``ast`` node with location info."""
        start_line = node.lineno - 1  # type: ignore[attr-defined]
        end_line = (getattr(node, "end_lineno", None) or node.lineno) - 1  # type: ignore[attr-defined]
        end_col = getattr(node, "end_col_offset", None)
        if end_col is None:
            end_col = node.col_offset  # type: ignore[attr-defined]
        return Range(
            Position(start_line, self.utf16_column(start_line, node.col_offset)),  # type: ignore[attr-defined]
            Position(end_line, self.utf16_column(end_line, end_col)),
        )

    def offset_of(self, position: Position) -> int:
        """String index in ``text`` of an LSP position (UTF-16 column); clamps past the end."""
        lines = self.lines
        if position.line >= len(lines):
            return len(self.text)
        start = sum(len(x) for x in lines[: position.line]) if position.line else 0
        text = lines[position.line].rstrip("\r\n")
        return start + codepoint_index(text, position.character)

    @cached_property
    def tree(self) -> ast.Module:
        return parse_python(self.text, self.path)


def codepoint_index(text: str, utf16_col: int) -> int:
    """Index into ``text`` of a UTF-16 column (clamped to the line)."""
    if text.isascii():
        return min(utf16_col, len(text))
    units = 0
    for index, ch in enumerate(text):
        if units >= utf16_col:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def parse_python(text: str, path: str = "<unknown>") -> ast.Module:
    """``ast.parse`` that raises ``SourceSyntaxError`` (never ``SyntaxError``/``ValueError``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes etc.
            return ast.parse(text, filename=path, type_comments=False)
    except SyntaxError as exc:
        line = max((exc.lineno or 1) - 1, 0)
        col = max((exc.offset or 1) - 1, 0)
        raise SourceSyntaxError(exc.msg or "invalid syntax", line, col) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise SourceSyntaxError(str(exc) or type(exc).__name__, 0, 0) from None


def decode_source(data: bytes) -> str:
    """Decode file bytes as Python does (PEP 263 cookie, BOM); raises ``UnicodeDecodeError``."""
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text
