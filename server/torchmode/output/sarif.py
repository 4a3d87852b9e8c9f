"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning accepts it.

Every rule is listed in ``tool.driver.rules`` (id, name, short and full
description, help text from the rule doc, default level) so that uploads show
the rule's documentation. Locations are URIs relative to ``%SRCROOT%`` (the
working folder), regions 1-based with UTF-16 columns (SARIF's default
``columnKind``), ``endColumn`` exclusive. Files that could not be analysed are
``toolExecutionNotifications`` and set ``executionSuccessful`` to false. Each result
has a ``partialFingerprints`` entry that stays the same when the finding's line moves,
so code scanning keeps tracking the same alert across commits.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from ..findings import Severity
from ..settings import ALL_CODES
from . import FileReport, Location, Reported

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "torchmodeFinding/v1"

_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    level: str
    summary: str
    doc: str
    fix_safety: str


def rule_catalog() -> list[RuleInfo]:
    """Rule metadata from the registry, help text from the rule docs."""
    from ..rule_docs import rule_doc
    from ..rules import RULES

    infos = []
    for code in sorted(set(ALL_CODES) | set(RULES)):
        rule = RULES[code]
        try:
            doc = rule_doc(code)
        except ValueError:  # a doc missing from a broken installation: keep the summary
            doc = rule.summary
        infos.append(RuleInfo(code, rule.name, _LEVEL.get(rule.severity, "warning"),
                              rule.summary, doc, rule.fix_applicability.value))
    return infos


def _first_paragraph(doc: str, heading: str = "What it does") -> str:
    """The paragraph under ``## What it does`` (the full description), else the doc's first one."""
    lines = doc.splitlines()
    for index, line in enumerate(lines):
        if line.lstrip("#").strip().lower() == heading.lower() and line.startswith("#"):
            body: list[str] = []
            for follow in lines[index + 1:]:
                if follow.startswith("#"):
                    break
                if not follow.strip() and body:
                    break
                if follow.strip():
                    body.append(follow.strip())
            if body:
                return " ".join(body)
    paragraphs = [p.strip() for p in doc.split("\n\n") if p.strip() and not p.startswith("#")]
    return " ".join(paragraphs[0].split()) if paragraphs else doc


def artifact_uri(path: str, root: str) -> tuple[str, bool]:
    """(uri, relative?) of ``path``: relative to ``root`` when inside it, else a file URI."""
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, root)
    if not rel.startswith(".."):
        return quote(Path(rel).as_posix()), True
    return Path(absolute).as_uri(), False


def _fingerprint(path: str, root: str, code: str, subject: str | None,
                 seen: dict[tuple[str, str], int]) -> str:
    """What a finding is, whatever line it moved to: the file, the code, the model it is
    about (``Finding.subject``, not the wording of the message) and which one of the
    file's findings with that code and subject it is, in order."""
    key = (code, subject or "")
    occurrence = seen.get(key, 0)
    seen[key] = occurrence + 1
    uri = artifact_uri(path, root)[0]
    text = "\0".join((uri, code, subject or "", str(occurrence)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _region(loc: Location) -> dict[str, int]:
    return {
        "startLine": loc.line,
        "startColumn": loc.utf16_column,
        "endLine": loc.end_line,
        "endColumn": loc.utf16_end_column,
    }


def _physical(path: str, loc: Location, root: str) -> dict[str, Any]:
    uri, relative = artifact_uri(path, root)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "%SRCROOT%"
    return {"physicalLocation": {"artifactLocation": artifact, "region": _region(loc)}}


def _result(item: Reported, path: str, root: str, seen: dict[tuple[str, str], int]
            ) -> dict[str, Any]:
    """One finding as a SARIF result (without its index in the rule list)."""
    f = item.finding
    location = _physical(path, item.location, root)
    if item.location.cell is not None:
        location["message"] = {"text": f"cell {item.location.cell}"}
    result: dict[str, Any] = {
        "ruleId": f.code,
        "level": _LEVEL.get(f.severity, "warning"),
        "message": {"text": f.message},
        "locations": [location],
        "partialFingerprints": {
            FINGERPRINT_KEY: _fingerprint(path, root, f.code, f.subject, seen)},
    }
    if item.related:
        result["relatedLocations"] = [
            {"id": i, **_physical(rel.path, rel.location, root),
             "message": {"text": rel.message}}
            for i, rel in enumerate(item.related)
        ]
    if item.location.cell is not None:
        result["properties"] = {"cell": item.location.cell}
    return result


def build_sarif(reports: Sequence[FileReport], root: str | None = None) -> dict[str, Any]:
    """The SARIF log as a dict (``write_sarif`` prints it)."""
    from .. import __version__

    root = os.path.abspath(root or os.getcwd())
    rules = rule_catalog()
    index = {rule.code: i for i, rule in enumerate(rules)}
    results = []
    for report in reports:
        seen: dict[tuple[str, str], int] = {}
        for item in report.findings:
            result = _result(item, report.path, root, seen)
            if item.finding.code in index:
                result["ruleIndex"] = index[item.finding.code]
            results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{report.path}: {report.error}"},
            "locations": [{"physicalLocation": {"artifactLocation": {
                "uri": artifact_uri(report.path, root)[0]}}}],
        }
        for report in reports
        if report.error
    ]
    invocation: dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "torchmode",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule_object(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(root).as_uri() + "/"}},
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


def _rule_object(rule: RuleInfo) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _first_paragraph(rule.doc) or rule.summary},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "defaultConfiguration": {"level": rule.level},
        "properties": {"tags": ["pytorch", "correctness"], "fixSafety": rule.fix_safety},
    }


def write_sarif(reports: Sequence[FileReport], stream: TextIO) -> None:
    json.dump(build_sarif(reports), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
