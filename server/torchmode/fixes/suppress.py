"""The "ignore this line" edit: add or merge ``# noqa: TMxxx``.

Where the comment goes follows ``torchmode.noqa`` (which decides suppression):
the line where the finding starts, or, when that line cannot end with a
comment or does not end the statement (an open multi-line string, an open
bracket, a backslash continuation), the line where the construct closes,
which ``noqa.is_suppressed`` also accepts.
"""

from __future__ import annotations

import io
import tokenize

from .. import noqa
from ..findings import Finding, Position, Range
from ..source import utf16_len
from .textedit import Doc, TextEdit, apply_edits


def noqa_edit(text: str, finding: Finding) -> TextEdit:
    """An edit that silences ``finding`` on its line. When the line already
    silences it (bare ``# noqa`` or the code listed) the edit is empty."""
    try:
        return _noqa_edit(text, finding)
    except Exception:  # noqa: BLE001 - odd text: fall back to the end of the finding's line
        doc = Doc(text)
        line = min(max(finding.range.start.line, 0), max(len(doc.lines) - 1, 0))
        return TextEdit.insert(line, utf16_len(doc.content(line).rstrip()),
                               f"  # noqa: {finding.code}")


def _noqa_edit(text: str, finding: Finding) -> TextEdit:
    doc = Doc(text)
    start = min(max(finding.range.start.line, 0), max(len(doc.lines) - 1, 0))
    end = noqa.statement_end_line(doc.lines, start) if doc.lines else start
    candidates = [end, start] if end != start else [start]
    fallback: TextEdit | None = None
    for line in candidates:
        edit = _edit_on_line(doc, line, finding.code)
        if fallback is None:
            fallback = edit
        if _lands_in_comment(doc, start, line, edit):
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


def _lands_in_comment(doc: Doc, start: int, line: int, edit: TextEdit) -> bool:
    """The inserted text is a comment: tokenizing lines ``start..line`` before and
    after the edit gives the same code tokens (a comment inside a string or after a
    backslash would change them). Local: a whole-file parse costs ~100x more."""
    if not edit.new_text:
        return True
    first = min(start, line)
    before = "".join(doc.lines[first:line + 1])
    shifted = TextEdit(Range(Position(edit.range.start.line - first, edit.range.start.character),
                             Position(edit.range.end.line - first, edit.range.end.character)),
                       edit.new_text)
    after = apply_edits(before, [shifted])
    old, new = _code_tokens(before), _code_tokens(after)
    return old is not None and old == new


def _code_tokens(text: str) -> list[tuple[int, str]] | None:
    """Code tokens of a run of lines; None when the run ends inside a string
    (a comment at its end would be string content)."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            out.append((tok.type, tok.string))
    except tokenize.TokenError as exc:
        if "string" in str(exc):
            return None
        # "EOF in multi-line statement": an open bracket (or a backslash, whose
        # comment would then show up as different tokens): compare what was seen.
    except (IndentationError, SyntaxError):
        return None
    return out
