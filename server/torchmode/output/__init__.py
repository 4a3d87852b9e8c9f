"""What ``torchmode check`` reports, and the formatters that print it.

The CLI turns each file's ``AnalysisResult`` into a ``FileReport`` (in the
worker process, where the file's text is at hand), so formatters never re-read
files: a ``Reported`` finding carries both the LSP range (0-based, UTF-16, as
the engine made it) and the 1-based line/column a human reads (columns in
characters). For notebooks, lines are relative to the cell and ``cell`` is the
1-based cell number as Jupyter shows it (markdown cells counted).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from ..findings import Finding, Range

FORMATS = ("text", "json", "sarif", "github")


@dataclass(frozen=True)
class Location:
    """1-based human position; ``column``/``end_column`` count characters,
    ``utf16_column``/``utf16_end_column`` count UTF-16 units (SARIF's default)."""

    line: int
    column: int
    end_line: int
    end_column: int
    utf16_column: int
    utf16_end_column: int
    cell: int | None = None


@dataclass(frozen=True)
class RelatedReport:
    """A related location: ``range`` as LSP (cell-relative in notebooks), ``location`` to read."""

    path: str
    range: Range
    location: Location
    message: str


@dataclass(frozen=True)
class ListedFix:
    """A fix as listed (JSON ``fixes``, "N fixable"): one that passed verification, so
    exactly what ``--fix`` would apply. ``kinds``: every kind of edit it makes."""

    title: str
    kind: str
    safe: bool
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reported:
    """A finding with its display location; ``finding.range`` is cell-relative in notebooks.
    ``fixes``: its verified fixes (``finding.fixes`` are the engine's unverified specs)."""

    finding: Finding
    location: Location
    related: tuple[RelatedReport, ...] = ()
    fixes: tuple[ListedFix, ...] = ()


@dataclass
class FileReport:
    """One analysed file: findings, or the one-line reason it could not be analysed."""

    path: str
    findings: list[Reported] = field(default_factory=list)
    error: str | None = None
    lines: int = 0
    fixed: list[Reported] = field(default_factory=list)
    diff: str | None = None
    notebook: bool = False
    # Analysed, but a part was left out (a notebook cell that does not parse)
    # or something asked for was not done (a fix declined).
    warnings: list[str] = field(default_factory=list)
    note: str | None = None   # analysed, with a caveat (a partial analysis)


@dataclass
class RunSummary:
    """Totals of a run, for the summary line and statistics."""

    files: int
    files_with_findings: int
    findings: int
    errors: int
    fixed: int
    fixable_safe: int
    fixable_unsafe: int
    by_code: Counter[str]
    names: dict[str, str]


def summarize(reports: Sequence[FileReport]) -> RunSummary:
    by_code: Counter[str] = Counter()
    names: dict[str, str] = {}
    safe = unsafe = 0
    for report in reports:
        for item in report.findings:
            by_code[item.finding.code] += 1
            names[item.finding.code] = item.finding.name
            if any(f.safe for f in item.fixes):
                safe += 1
            elif item.fixes:
                unsafe += 1
    return RunSummary(
        files=len(reports),
        files_with_findings=sum(1 for r in reports if r.findings),
        findings=sum(by_code.values()),
        errors=sum(1 for r in reports if r.error),
        fixed=sum(len(r.fixed) for r in reports),
        fixable_safe=safe,
        fixable_unsafe=unsafe,
        by_code=by_code,
        names=names,
    )


def display_position(item: Reported) -> str:
    """``line:col`` or ``cell N:line:col`` (1-based, characters)."""
    loc = item.location
    prefix = f"cell {loc.cell}:" if loc.cell is not None else ""
    return f"{prefix}{loc.line}:{loc.column}"


def range_dict(rng: Range) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }


def write_report(fmt: str, reports: Sequence[FileReport], stream: TextIO, *,
                 color: bool = False, statistics: bool = False) -> None:
    """Print ``reports`` in format ``fmt`` (one of ``FORMATS``)."""
    if fmt == "text":
        from .text import write_text

        write_text(reports, stream, color=color, statistics=statistics)
    elif fmt == "json":
        from .json import write_json

        write_json(reports, stream)
    elif fmt == "sarif":
        from .sarif import write_sarif

        write_sarif(reports, stream)
    elif fmt == "github":
        from .github import write_github

        write_github(reports, stream)
    else:  # argparse restricts the choices; this guards programmatic use
        raise ValueError(f"unknown format {fmt!r}")


def write_statistics(summary: RunSummary, stream: TextIO) -> None:
    """One line per code: count, code, name (most frequent first)."""
    for code, count in sorted(summary.by_code.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{count:>6}  {code}  {summary.names.get(code, '')}", file=stream)
