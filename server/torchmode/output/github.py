"""``--format github``: GitHub Actions workflow-command annotations.

Escaping follows the Actions runner (``toolkit/packages/core/src/command.ts``):
in the message ``%``, CR and LF become ``%25``, ``%0D``, ``%0A``; in property
values ``:`` and ``,`` are escaped too (``%3A``, ``%2C``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..findings import Severity
from . import FileReport

_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "notice",
    Severity.HINT: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def write_github(reports: Sequence[FileReport], stream: TextIO) -> None:
    for report in reports:
        for item in report.findings:
            f = item.finding
            loc = item.location
            title = f"{f.code} {f.name}"
            if loc.cell is not None:
                title += f" (cell {loc.cell})"
            props = ",".join(
                [
                    f"file={escape_property(report.path)}",
                    f"line={loc.line}",
                    f"col={loc.column}",
                    f"endLine={loc.end_line}",
                    f"endColumn={loc.end_column}",
                    f"title={escape_property(title)}",
                ]
            )
            print(f"::{_LEVEL.get(f.severity, 'warning')} {props}::{escape_data(f.message)}",
                  file=stream)
        if report.error:
            print(f"::error file={escape_property(report.path)},title=torchmode::"
                  f"{escape_data(report.error)}", file=stream)
