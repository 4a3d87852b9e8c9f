"""Human output: ``path:line:col: TM001 [missing-eval] message``, grouped by file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..findings import Severity
from . import FileReport, RunSummary, display_position, summarize, write_statistics

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_SEVERITY_COLOR = {
    Severity.ERROR: "\x1b[1;31m",
    Severity.WARNING: "\x1b[1;33m",
    Severity.INFORMATION: "\x1b[1;36m",
    Severity.HINT: "\x1b[1;34m",
}


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color else text


def write_text(reports: Sequence[FileReport], stream: TextIO, *, color: bool = False,
               statistics: bool = False) -> None:
    """Findings of each file as a block (blank line between files), then a summary line."""
    first = True
    for report in reports:
        if not report.findings:
            continue
        if not first:
            print(file=stream)
        first = False
        for item in report.findings:
            f = item.finding
            where = _paint(f"{report.path}:{display_position(item)}:", _BOLD, color)
            code = _paint(f.code, _SEVERITY_COLOR.get(f.severity, ""), color)
            name = _paint(f"[{f.name}]", _DIM, color)
            print(f"{where} {code} {name} {f.message}", file=stream)
            for rel in item.related:
                loc = rel.location
                cell = f"cell {loc.cell}:" if loc.cell is not None else ""
                note = _paint(f"    {rel.path}:{cell}{loc.line}:{loc.column}:", _DIM, color)
                print(f"{note} {rel.message}", file=stream)
    summary = summarize(reports)
    if statistics and summary.findings:
        if not first:
            print(file=stream)
        write_statistics(summary, stream)
    if not first or (statistics and summary.findings):
        print(file=stream)
    print(summary_line(summary), file=stream)


def summary_line(summary: RunSummary) -> str:
    """``Found 3 findings in 2 files (10 files checked; 1 could not be analysed).``"""
    checked = f"{summary.files} file{'s' if summary.files != 1 else ''} checked"
    notes = [checked]
    if summary.errors:
        notes.append(f"{summary.errors} could not be analysed")
    if summary.fixed:
        notes.append(f"{summary.fixed} fixed")
    if summary.findings:
        n = summary.files_with_findings
        text = (f"Found {summary.findings} finding{'s' if summary.findings != 1 else ''}"
                f" in {n} file{'s' if n != 1 else ''}")
        hints = []
        if summary.fixable_safe:
            hints.append(f"{summary.fixable_safe} fixable with --fix")
        if summary.fixable_unsafe:
            more = "more" if summary.fixable_safe else "fixable"
            hints.append(f"{summary.fixable_unsafe} {more} with --fix --unsafe-fixes")
        tail = f" {'; '.join(hints)}." if hints else ""
        return f"{text} ({'; '.join(notes)}).{tail}"
    return f"No findings ({'; '.join(notes)})."
