"""Run the analyzer over every rule fixture and compare with its inline expectations.

A fixture is a small realistic Python file under ``tests/fixtures/rules/``.
Each line that must be reported ends with an expectation comment::

    out = model(x)  # expect: TM001
    for x, y in val_loader:  # expect: TM002, TM001[model]

Grammar of one expected item: ``CODE`` optionally followed by ``[name]`` (the
finding's message must mention that model name) and ``/severity`` (``/hint``:
the finding must have that severity). A line where a ``# noqa`` comment sits
and some code is still expected carries its expectation on the line before, as
``# expect-next: TM001`` (so the noqa parser never sees an expect comment).

Every line without an expectation must have no finding. Files are analysed
under their real path, so ``pytest_named/test_*.py`` exercises the rule that
pytest files are never evaluation code. Files in a ``project_*`` folder are
analysed together (a ``ProjectIndex`` of the folder), for cross-file summaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from torchmode.findings import Finding

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "rules"

_EXPECT_RE = re.compile(r"#\s*expect(-next)?:\s*(.+?)\s*$")
_ITEM_RE = re.compile(r"^(TM\d{3})(?:\[([^\]]+)\])?(?:/(\w+))?$")


@dataclass(frozen=True)
class Expected:
    line: int          # 0-based, like Finding.range
    code: str
    name: str | None   # model name the message must mention
    severity: str | None


def fixture_files() -> list[Path]:
    files = sorted(FIXTURE_DIR.rglob("*.py"))
    # The folder's own conftest.py keeps pytest out; it is not a fixture.
    return [p for p in files if p != FIXTURE_DIR / "conftest.py"]


def parse_expectations(text: str) -> list[Expected]:
    """Read ``# expect:`` / ``# expect-next:`` comments (0-based lines)."""
    lines = text.splitlines()
    out: list[Expected] = []
    for index, line in enumerate(lines):
        match = _EXPECT_RE.search(line)
        if not match:
            continue
        target = index
        if match.group(1):  # expect-next: the next line that is not a comment or blank
            target = index + 1
            while target < len(lines) and (
                not lines[target].strip() or lines[target].lstrip().startswith("#")
            ):
                target += 1
        for item in re.split(r"\s*,\s*", match.group(2)):
            parsed = _ITEM_RE.match(item)
            if not parsed:
                raise ValueError(f"line {index + 1}: bad expectation item {item!r}")
            out.append(Expected(target, parsed.group(1), parsed.group(2), parsed.group(3)))
    return out


def _describe(line: int, code: str, lines: list[str], message: str = "") -> str:
    source = lines[line].strip() if 0 <= line < len(lines) else "<no such line>"
    suffix = f"\n        message: {message}" if message else ""
    return f"  line {line + 1}: {code}  | {source}{suffix}"


def compare(text: str, findings: list[Finding]) -> list[str]:
    """Return readable problems; empty when the findings match the expectations."""
    lines = text.splitlines()
    expected = parse_expectations(text)
    want = {(e.line, e.code) for e in expected}
    got: dict[tuple[int, str], list[Finding]] = {}
    for finding in findings:
        got.setdefault((finding.range.start.line, finding.code), []).append(finding)

    problems: list[str] = []
    missing = sorted(want - set(got))
    extra = sorted(set(got) - want)
    if missing:
        problems.append("expected but not reported:")
        problems += [_describe(line, code, lines) for line, code in missing]
    if extra:
        problems.append("reported but not expected:")
        problems += [
            _describe(line, code, lines, got[(line, code)][0].message) for line, code in extra
        ]
    for key, found in sorted(got.items()):
        if len(found) > 1:
            problems.append(f"reported {len(found)} times (expected once):")
            problems.append(_describe(key[0], key[1], lines))
    for exp in expected:
        for finding in got.get((exp.line, exp.code), []):
            if exp.name and not re.search(rf"(?<![\w.]){re.escape(exp.name)}(?![\w])",
                                          finding.message):
                problems.append(f"message does not name {exp.name!r}:")
                problems.append(_describe(exp.line, exp.code, lines, finding.message))
            if exp.severity and finding.severity.label != exp.severity:
                problems.append(
                    f"severity {finding.severity.label!r}, expected {exp.severity!r}:")
                problems.append(_describe(exp.line, exp.code, lines, finding.message))
    return problems


@pytest.mark.parametrize(
    "path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURE_DIR))
)
def test_rule_fixture(path: Path) -> None:
    from torchmode.analyzer import analyze

    text = path.read_text(encoding="utf-8")
    project = None
    if path.parent.name.startswith("project_"):
        # A multi-file fixture: analysed with every file of its folder indexed, as
        # `torchmode check folder/` would (imports resolve by module path).
        from torchmode.project import ProjectIndex

        project = ProjectIndex.from_paths([str(p) for p in sorted(path.parent.glob("*.py"))])
    result = analyze(text, str(path), project=project)
    assert result.syntax_error is None, f"fixture does not parse: {result.syntax_error}"
    problems = compare(text, list(result.findings))
    assert not problems, f"{path.relative_to(FIXTURE_DIR)}:\n" + "\n".join(problems)


def test_fixture_set_is_substantial() -> None:
    """Guard against a glob that silently finds nothing."""
    files = fixture_files()
    assert len(files) >= 30
    assert sum(len(parse_expectations(p.read_text(encoding="utf-8"))) for p in files) >= 50
    assert any(p.parent.name == "pytest_named" for p in files)


def test_expectation_parser() -> None:
    text = (
        "a = 1  # expect: TM001[model]/hint, TM002\n"
        "# expect-next: TM003\n"
        "\n"
        "b = 2  # noqa: TM001\n"
    )
    assert parse_expectations(text) == [
        Expected(0, "TM001", "model", "hint"),
        Expected(0, "TM002", None, None),
        Expected(3, "TM003", None, None),
    ]
