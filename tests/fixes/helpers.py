"""Shared helpers for the fix tests."""

from __future__ import annotations

import textwrap

from torchmode.findings import Finding, FixKind, FixSpec, Range, Severity
from torchmode.fixes import apply_edits, edits_for_fix


def src(text: str) -> str:
    """A dedented source text (the first newline after the opening quotes dropped)."""
    return textwrap.dedent(text).lstrip("\n")


def spec(kind: str, first: int, last: int, code: str, **extra: object) -> FixSpec:
    return FixSpec(kind=kind, title="test", safe=kind == FixKind.ADD_CALL_PARENS,
                   target_line=first, target_end_line=last, code=code, **extra)  # type: ignore[arg-type]


def fixed(text: str, kind: str, first: int, last: int, code: str, **extra: object) -> str | None:
    """The text after the fix, or None when no edit is made."""
    edits = edits_for_fix(text, spec(kind, first, last, code, **extra))
    if edits is None:
        return None
    return apply_edits(text, edits)


def finding(code: str, line: int, character: int = 0, end_line: int | None = None,
            end_character: int = 0, message: str = "m") -> Finding:
    return Finding(code=code, name="n", message=message, severity=Severity.WARNING,
                   range=Range.of(line, character, line if end_line is None else end_line,
                                  end_character))
