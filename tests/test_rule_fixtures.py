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


def _all_findings() -> list[tuple[Path, list[str], Finding]]:
    from torchmode.analyzer import analyze

    out = []
    for path in fixture_files():
        if path.parent.name.startswith("project_"):
            continue
        text = path.read_text(encoding="utf-8")
        for finding in analyze(text, str(path)).findings:
            out.append((path, text.splitlines(), finding))
    return out


# code -> (default severity, fix kinds every finding must offer)
CONTRACT = {
    "TM001": ("warning", {"insert-eval"}),
    "TM002": ("warning", {"wrap-no-grad", "wrap-inference-mode"}),
    "TM003": ("warning", {"insert-train"}),
    "TM004": ("error", {"add-call-parens"}),
    "TM005": ("error", set()),
    "TM006": ("warning", set()),
    "TM007": ("warning", {"insert-eval"}),
    "TM008": ("warning", {"add-training-arg"}),
    "TM009": ("warning", {"reapply-freeze"}),
}


def test_findings_follow_the_rule_contract() -> None:
    """Severity, fix kinds and fix safety as RULES.md §3-4 define them."""
    problems = []
    for path, lines, finding in _all_findings():
        where = f"{path.name}:{finding.range.start.line + 1} {finding.code}"
        severity, kinds = CONTRACT[finding.code]
        hint_ok = finding.code == "TM001" and finding.severity.label == "hint"
        if finding.severity.label != severity and not hint_ok:
            problems.append(f"{where}: severity {finding.severity.label}")
        offered = {fix.kind for fix in finding.fixes}
        if not kinds <= offered:
            problems.append(f"{where}: fixes {sorted(offered)} lack {sorted(kinds - offered)}")
        if finding.code == "TM005" and finding.fixes:
            problems.append(f"{where}: TM005 has no fix")
        for fix in finding.fixes:
            if fix.safe != (fix.kind == "add-call-parens"):
                problems.append(f"{where}: {fix.kind} marked safe={fix.safe}")
        if finding.fixes and sum(fix.preferred for fix in finding.fixes) != 1:
            problems.append(f"{where}: exactly one fix should be preferred")
        source = lines[finding.range.start.line]
        if (finding.code == "TM006" and re.search(r"\.training\s*=\s*(True|False)\b", source)
                and "flag-to-method" not in offered):
            problems.append(f"{where}: a True/False flag assignment takes flag-to-method")
        if finding.code == "TM003":
            steps = [lines[r.range.start.line] for r in finding.related if r.path is None]
            if not any(re.search(r"step\(|backward\(", s) for s in steps):
                problems.append(f"{where}: related info should point at the training step")
    assert not problems, "\n".join(problems)


def test_columns_are_utf16_after_non_ascii_text() -> None:
    """A CJK identifier and an emoji before the call on the same line."""
    from torchmode.analyzer import analyze

    text = (
        "import torch\n"
        "import torch.nn as nn\n"
        "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())\n"
        "val_loader = [torch.ones(1, 2)]\n"
        "with torch.no_grad():\n"
        "    for x in val_loader:\n"
        "        结果 = '🙂'; out = model(x)\n"
    )
    (finding,) = [f for f in analyze(text, "unicode.py").findings if f.code == "TM001"]
    line = text.splitlines()[6]
    prefix = line[: line.index("model(x)")]
    assert finding.range.start.line == 6
    assert finding.range.start.character == len(prefix.encode("utf-16-le")) // 2
