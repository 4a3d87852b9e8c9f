"""Every offered fix on every example, rule fixture and truth program keeps the
guarantees (checked independently) and changes the AST exactly as intended;
fix-all on each file is idempotent and its edits reproduce its text."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torchmode.fixes import apply_edits, fix_all, offered_fixes
from torchmode.settings import DEFAULT_SETTINGS

from fixes.guarantees import check_offered

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    [*(ROOT / "examples").rglob("*.py"), *(ROOT / "tests" / "fixtures" / "rules").rglob("*.py"),
     *(ROOT / "tests" / "truth" / "programs").rglob("*.py")])


def _project(path: Path) -> object:
    if path.parent.name.startswith("project_"):
        from torchmode.project import ProjectIndex

        return ProjectIndex.from_paths([str(p) for p in sorted(path.parent.glob("*.py"))])
    return None


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_offered_fixes_keep_the_guarantees(path: Path) -> None:
    check_offered(path.read_text(encoding="utf-8"), str(path), _project(path))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_fix_all_is_idempotent(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    project = _project(path)
    result = fix_all(text, str(path), DEFAULT_SETTINGS, unsafe=True,
                     project=project)  # type: ignore[arg-type]
    ast.parse(result.text)
    assert apply_edits(text, result.edits) == result.text
    again = fix_all(result.text, str(path), DEFAULT_SETTINGS, unsafe=True,
                    project=project)  # type: ignore[arg-type]
    assert again.text == result.text
    # Nothing fixable is left behind: a finding that remains has no fix that passes
    # the checks on the final text (e.g. inserting eval() would raise new TM002s later).
    left = [(f.code, f.range.start.line + 1) for f in result.remaining
            if offered_fixes(result.text, str(path), f, DEFAULT_SETTINGS,
                             project)]  # type: ignore[arg-type]
    assert left == []


def test_corpus_has_fixes_to_check() -> None:
    total = sum(check_offered(p.read_text(encoding="utf-8"), str(p), _project(p))
                for p in FILES if "tm00" in p.name)
    assert total >= 20


def _retabbed(text: str) -> str:
    """Leading runs of four spaces become tabs (a valid program with another indent unit)."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.lstrip(" ")
        spaces = len(line) - len(body)
        out.append("\t" * (spaces // 4) + " " * (spaces % 4) + body)
    return "".join(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([p for p in FILES if not p.parent.name.startswith("project_")]),
       st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans())
def test_fixture_variants_keep_the_guarantees(path: Path, eol: str, tabs: bool,
                                              final_newline: bool) -> None:
    """The same files with CRLF, tabs, or without a final newline."""
    text = path.read_text(encoding="utf-8")
    if tabs:
        text = _retabbed(text)
    text = eol.join(text.split("\n"))
    if not final_newline:
        text = text.rstrip("\r\n")
    try:
        ast.parse(text)
    except SyntaxError:
        assume(False)  # retabbing changed a string's continuation into bad indentation
    check_offered(text, str(path))
