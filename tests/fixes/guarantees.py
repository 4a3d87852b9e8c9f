"""Independent checks of the fix guarantees (tests do not trust offered_fixes' own)."""

from __future__ import annotations

import ast

from torchmode.analyzer import analyze
from torchmode.findings import Finding, FixKind
from torchmode.fixes import Fix, apply_edits, offered_fixes
from torchmode.fixes.textedit import PositionMap
from torchmode.settings import DEFAULT_SETTINGS

from fixes.astdiff import is_intended_fix


def check_offered(text: str, path: str, project: object = None) -> int:
    """Check every offered fix of every finding of ``text``; returns how many were checked."""
    before = analyze(text, path, DEFAULT_SETTINGS, project)  # type: ignore[arg-type]
    checked = 0
    for finding in before.findings:
        for fix in offered_fixes(text, path, finding, DEFAULT_SETTINGS,
                                 project):  # type: ignore[arg-type]
            check_fix(text, path, finding, fix, before.findings, project)
            checked += 1
    return checked


def check_fix(text: str, path: str, finding: Finding, fix: Fix, before: list[Finding],
              project: object = None) -> None:
    spec, edits = fix.spec, list(fix.edits)
    where = f"{path}: {finding.code} line {finding.range.start.line + 1}: {spec.title}"
    assert edits, where
    fixed = apply_edits(text, edits)
    ast.parse(fixed)  # parses
    wrap = None
    if FixKind.WRAP_NO_GRAD in fix.kinds and len(fix.kinds) > 1:
        wrap = next(s for g in before for s in g.fixes
                    if s.kind == FixKind.WRAP_NO_GRAD and f" in {s.code}" in spec.title)
    assert is_intended_fix(text, fixed, spec, fix.kinds, wrap), \
        f"{where}: AST changed beyond the fix\n{fixed}"
    after = analyze(fixed, path, DEFAULT_SETTINGS, project).findings  # type: ignore[arg-type]
    moved = PositionMap(text, fixed, edits)
    mapped = moved.map(finding.range.start)
    # Same code at the same place about the same model (the message's first word).
    same = [g for g in after if g.code == finding.code and g.range.start == mapped
            and g.message.split()[0] == finding.message.split()[0]]
    assert not same, f"{where}: still reported after the fix"
    old = sorted((f.code, moved.map(f.range.start)) for f in before)
    for g in after:
        assert (g.code, g.range.start) in old, f"{where}: new finding {g.code}: {g.message}"
    # Applying the same fix again: the finding is gone, so nothing of this kind is offered
    # at the same place any more (a combined fix clears both its findings).
    if len(fix.kinds) > 1:
        return
    for g in after:
        for again in g.fixes:
            assert not (again.kind == spec.kind and again.code == spec.code
                        and g.range.start == mapped), f"{where}: offered again"
