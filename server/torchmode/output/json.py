"""``--format json``: a list of findings, one object each (stable keys, LSP ranges)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from . import FileReport, Reported, range_dict


def finding_object(path: str, item: Reported) -> dict[str, Any]:
    """One finding as JSON: ``range`` is 0-based with UTF-16 columns (LSP); in a
    notebook it is relative to the cell named by ``cell`` (1-based)."""
    f = item.finding
    data: dict[str, Any] = {
        "path": path,
        "code": f.code,
        "name": f.name,
        "message": f.message,
        "severity": f.severity.label,
        "range": range_dict(f.range),
        "related": [
            {
                "path": rel.path,
                "range": range_dict(rel.range),
                "message": rel.message,
                **({"cell": rel.location.cell} if rel.location.cell is not None else {}),
            }
            for rel in item.related
        ],
        "fixes": [{"title": fix.title, "kind": fix.kind, "kinds": list(fix.kinds),
                   "safe": fix.safe} for fix in item.fixes],
    }
    if item.location.cell is not None:
        data["cell"] = item.location.cell
    return data


def write_json(reports: Sequence[FileReport], stream: TextIO) -> None:
    items = [finding_object(r.path, item) for r in reports for item in r.findings]
    json.dump(items, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
