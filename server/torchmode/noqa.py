"""``# noqa`` comments: which torchmode codes a line silences.

Syntax (as flake8/ruff): ``# noqa`` silences every code on its line;
``# noqa: TM001,TM002``, ``# noqa:TM001, TM002`` or ``# noqa: TM001 TM002`` silence
those codes. ``noqa`` is matched case-insensitively. Codes of other tools in a
merged comment (``# noqa: E501, TM001``) are ignored; a comment that names only
other tools' codes (``# noqa: E501``) silences nothing of ours.

Which line counts (``is_suppressed``): the line where the finding's range
starts, and also, when that line does not end the statement because a bracket
or a multi-line string is still open, the line where that construct closes.
A comment cannot be written inside a multi-line string, so for
``model(x, '''...\\n...''')`` the only place for it is after the closing quotes;
we accept both places for brackets too, since formatters move trailing comments
to the closing line. ``noqa_line`` returns the preferred place for a new comment
(used by the "ignore this line" fix).

This is a line-text scanner, not a tokenizer: ``"# noqa"`` inside a string
literal on the same line is also taken as a comment. That matches flake8's
long-standing behaviour closely enough and keeps the check to a regex per
finding (findings are few; lines are never scanned otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

# The noqa marker, optionally followed by `:` and a list of codes separated by commas/spaces.
_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)?)?",
    re.IGNORECASE,
)
_CODE_SPLIT = re.compile(r"[\s,]+")
_OUR_PREFIX = "TM"


def find_noqa(line_text: str) -> re.Match[str] | None:
    """The ``# noqa`` match on a line (for merging codes into it), or None."""
    return _NOQA.search(line_text)


def noqa_codes(line_text: str) -> frozenset[str] | None:
    """Codes silenced by the line's noqa comment.

    None: no noqa for torchmode on this line. Empty frozenset: bare ``# noqa``
    (every code). Otherwise the upper-cased ``TM`` codes listed.
    """
    if "noqa" not in line_text.lower():  # fast path: almost every line
        return None
    match = _NOQA.search(line_text)
    if match is None:
        return None
    codes_text = match.group("codes")
    if not codes_text:
        return frozenset()
    listed = (c.upper() for c in _CODE_SPLIT.split(codes_text.strip()))
    codes = frozenset(c for c in listed if c.startswith(_OUR_PREFIX))
    return codes or None


class _HasRange(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def range(self) -> object: ...


def _strip(line: str) -> str:
    return line.rstrip("\r\n")


def _scan_line(line: str, state: _ScanState) -> None:
    """Advance bracket depth and open-string state over one line."""
    i = 0
    n = len(line)
    while i < n:
        if state.quote is not None:
            end = _find_string_end(line, i, state.quote)
            if end < 0:
                if len(state.quote) == 1 and not line.rstrip("\r\n").endswith("\\"):
                    state.quote = None  # unterminated one-line string: give up on it
                return
            state.quote = None
            i = end
            continue
        ch = line[i]
        if ch == "#":
            return
        if ch in "([{":
            state.depth += 1
        elif ch in ")]}":
            state.depth -= 1
        elif ch in "'\"":
            quote = line[i : i + 3] if line[i : i + 3] in ("'''", '"""') else ch
            state.quote = quote
            i += len(quote)
            continue
        i += 1


def _find_string_end(line: str, start: int, quote: str) -> int:
    """Index just past the closing ``quote`` from ``start``, or -1."""
    i = start
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if line.startswith(quote, i):
            return i + len(quote)
        i += 1
    return -1


class _ScanState:
    __slots__ = ("depth", "quote")

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None


_MAX_SCAN_LINES = 2000  # a runaway scan (unbalanced text) never costs more than this


def statement_end_line(lines: Sequence[str], line: int) -> int:
    """The line where the bracket/string construct open at the end of ``line`` closes.

    Scans from the start of ``line`` (not from the statement start, which a
    finding's range does not give us); brackets opened on earlier lines are not
    seen, which is fine: their closing line is not where the finding starts.
    """
    state = _ScanState()
    last = min(len(lines), line + _MAX_SCAN_LINES)
    for index in range(line, last):
        text = lines[index]
        _scan_line(text, state)
        stripped = _strip(text)
        continued = stripped.endswith("\\") and state.quote is None
        if state.quote is None and state.depth <= 0 and not continued:
            return index
    return line


def noqa_line(lines: Sequence[str], line: int) -> int:
    """Where a new ``# noqa`` comment for a finding starting on ``line`` goes:
    ``line`` itself unless it ends inside a multi-line string, else the line
    that closes the string (a comment there is a real comment)."""
    state = _ScanState()
    last = min(len(lines), line + _MAX_SCAN_LINES)
    for index in range(line, last):
        _scan_line(lines[index], state)
        if state.quote is None:
            return index
    return line


def is_suppressed(lines: Sequence[str], finding: _HasRange) -> bool:
    """True when a noqa comment silences ``finding`` (see module docstring for the lines)."""
    start = finding.range.start.line  # type: ignore[attr-defined]
    if not 0 <= start < len(lines):
        return False
    if _silences(lines[start], finding.code):
        return True
    end = statement_end_line(lines, start)
    return end != start and _silences(lines[end], finding.code)


def _silences(line_text: str, code: str) -> bool:
    codes = noqa_codes(_strip(line_text))
    if codes is None:
        return False
    return not codes or code.upper() in codes
