"""Edits of TM008 (pass ``training=`` to a functional call) and TM009 (re-apply a
freeze after ``m.train()``).

Both work on tokens of the target lines only, like the in-line edits of
``build.py``: nothing outside the call's parentheses or the inserted lines
changes. Decisions (pinned in ``tests/fixes/test_mode_args.py``):

- ``training=self.training`` goes after the last argument, before a trailing
  comma if there is one, so positional arguments keep their places and a
  multi-line call keeps its layout.
- A re-applied freeze is the freeze statement's own text, re-indented to the
  ``m.train()`` statement's indentation, on the lines right after that
  statement (after all of its lines; a ``m.train()`` sharing its line with
  other statements after a ``;`` takes the freeze after the whole line).
"""

from __future__ import annotations

import io
import tokenize

from ..findings import FixSpec
from ..source import utf16_len
from .layout import Doc, leading_ws
from .textedit import TextEdit


def add_training_argument(doc: Doc, fix: FixSpec) -> list[TextEdit] | None:
    """``F.dropout(x, 0.5)`` -> ``F.dropout(x, 0.5, training=self.training)``."""
    first, last = fix.target_line, fix.target_end_line
    if not (0 <= first <= last < len(doc.lines)) or not fix.entity:
        return None
    text = "".join(doc.lines[first:last + 1])
    tokens = _tokens(text)
    wanted = [t.string for t in _tokens(fix.entity) if t.type in (tokenize.NAME, tokenize.OP)]
    for i in range(len(tokens) - len(wanted)):
        window = tokens[i:i + len(wanted)]
        if [t.string for t in window] != wanted or tokens[i + len(wanted)].string != "(":
            continue
        if i > 0 and tokens[i - 1].string == ".":
            continue  # `x.F.dropout` is not `F.dropout`
        close = _matching_paren(tokens, i + len(wanted))
        if close is None:
            return None
        last_arg = close - 1
        if tokens[last_arg].string == ",":
            last_arg -= 1
        if last_arg <= i + len(wanted):
            return None  # no argument at all: not a call the rule reports
        row, col = tokens[last_arg].end
        line = first + row - 1
        return [TextEdit.insert(line, utf16_len(doc.content(line)[:col]), f", {fix.code}")]
    return None


def insert_after_statement(doc: Doc, fix: FixSpec) -> list[TextEdit] | None:
    """The freeze statement(s) in ``fix.code`` on new lines after the target statement."""
    first, last = fix.target_line, fix.target_end_line
    if not (0 <= first <= last < len(doc.lines)) or not fix.code.strip():
        return None
    indent = leading_ws(doc.content(first))
    body = [indent + line if line.strip() else "" for line in fix.code.splitlines()]
    content = doc.eol.join(body) + doc.eol
    if last + 1 < len(doc.lines):
        return [TextEdit.insert(last + 1, 0, content)]
    end = doc.index.end_position()
    if not doc.has_eol(last):
        return [TextEdit.insert(end.line, end.character, doc.eol + content.rstrip("\r\n"))]
    return [TextEdit.insert(end.line, end.character, content)]


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENDMARKER}
    out: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type not in skip:
                out.append(tok)
    except (tokenize.TokenError, IndentationError):
        pass  # lines that end inside an outer bracket: the tokens seen so far
    return out


def _matching_paren(tokens: list[tokenize.TokenInfo], open_index: int) -> int | None:
    depth = 0
    for index in range(open_index, len(tokens)):
        string = tokens[index].string
        if tokens[index].type != tokenize.OP:
            continue
        if string in "([{":
            depth += 1
        elif string in ")]}":
            depth -= 1
            if depth == 0:
                return index
    return None
