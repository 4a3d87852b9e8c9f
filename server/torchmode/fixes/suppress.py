"""The "ignore this line" edit: add or merge ``# noqa: TMxxx``.

Where the comment goes follows ``torchmode.noqa`` (which decides suppression):
the line where the finding starts, or, when that line cannot end with a
comment or does not end the statement (an open multi-line string, an open
bracket, a backslash continuation), the line where the construct closes,
which ``noqa.is_suppressed`` also accepts.
"""

from __future__ import annotations

import ast
import warnings

from .. import noqa
from ..findings import Finding, Position, Range
from ..source import utf16_len
from .layout import Doc
from .textedit import TextEdit, apply_edits


def noqa_edit(text: str, finding: Finding) -> TextEdit:
    """An edit that silences ``finding`` on its line. When the line already
    silences it (bare ``# noqa`` or the code listed) the edit is empty."""
    doc = Doc(text)
    start = min(max(finding.range.start.line, 0), max(len(doc.lines) - 1, 0))
    end = noqa.statement_end_line(doc.lines, start) if doc.lines else start
    candidates = [end, start] if end != start else [start]
    fallback: TextEdit | None = None
    for line in candidates:
        edit = _edit_on_line(doc, line, finding.code)
        if fallback is None:
            fallback = edit
        if _parses_same(text, edit):
            return edit
    assert fallback is not None
    return fallback


def _edit_on_line(doc: Doc, line: int, code: str) -> TextEdit:
    content = doc.content(line)
    match = noqa.find_noqa(content)
    if match is not None:
        codes_text = match.group("codes")
        if not codes_text:  # a bare noqa comment silences everything already
            return _empty(line, content)
        listed = {c.upper() for c in noqa.noqa_codes(content) or ()}
        if code.upper() in listed:
            return _empty(line, content)
        separator = ", " if ", " in codes_text else ("," if "," in codes_text else
                                                     (" " if " " in codes_text.strip() else ", "))
        column = utf16_len(content[:match.end("codes")])
        return TextEdit.insert(line, column, f"{separator}{code}")
    stripped = content.rstrip()
    return TextEdit.insert(line, utf16_len(stripped), f"  # noqa: {code}")


def _empty(line: int, content: str) -> TextEdit:
    position = Position(line, utf16_len(content))
    return TextEdit(Range(position, position), "")


def _parses_same(text: str, edit: TextEdit) -> bool:
    """The comment landed in a comment position: the code means the same as before."""
    if not edit.new_text:
        return True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            before = ast.dump(ast.parse(text))
            after = ast.dump(ast.parse(apply_edits(text, [edit])))
    except (SyntaxError, ValueError):
        return False
    return before == after
