"""Fixes that are checked before anyone sees them, and fix-all.

A fix is offered (``offered_fixes``) or applied (``fix_all``) only when, on the
fixed text: it parses; re-analysis no longer reports the fixed finding; and
no finding appears that was not there before (old findings are mapped
through the edits, so a finding that merely moved is not "new"). Since the
finding is gone, analysing the fixed text offers no fix for it again:
applying a fix twice changes nothing the second time.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import re
import threading
import warnings
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..findings import AnalysisResult, Finding, FixKind, FixSpec, Position, Range
from ..settings import DEFAULT_SETTINGS, Settings
from .build import edits_for_fix, import_edit
from .layout import Doc
from .textedit import LineIndex, PositionMap, TextEdit, apply_edits, diff_edits, split_lines

if TYPE_CHECKING:
    from ..project import ProjectIndex

# Rounds of analyse -> fix in fix_all. Each round applies a fix (and an applied fix
# leaves strictly fewer findings: new ones are refused) or marks one as failing, so
# the loop ends after at most findings + fixes rounds; this is only a safety net.
MAX_ROUNDS = 100
_LINE_INSERTS = frozenset({FixKind.INSERT_EVAL, FixKind.INSERT_TRAIN, FixKind.DECORATE_NO_GRAD})
_WRAPS = frozenset({FixKind.WRAP_NO_GRAD, FixKind.WRAP_INFERENCE_MODE})
_DIGITS = re.compile(r"\d+")


@dataclass
class FixAllResult:
    """``text`` after fixing; ``edits`` turn the original text into it (minimal, line
    granular); ``fixed``: findings that the fixes removed, with ranges in the original
    text (a finding first seen in a later round is moved back by matching lines);
    ``remaining``: the findings of the final text."""

    text: str
    edits: list[TextEdit] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)


def _analyze(text: str, path: str, settings: Settings,
             project: ProjectIndex | None) -> AnalysisResult:
    from ..analyzer import analyze  # the engine; imported late to keep import order loose

    return analyze(text, path, settings, project)


_BEFORE_CACHE: OrderedDict[tuple[object, ...], AnalysisResult] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _analyze_cached(text: str, path: str, settings: Settings,
                    project: ProjectIndex | None) -> AnalysisResult:
    """The analysis of the unfixed text: code actions ask for each diagnostic of
    one document version in turn, so the last few analyses are kept."""
    key = (path, text, settings, id(project), getattr(project, "generation", None))
    with _CACHE_LOCK:  # the language server may ask from several worker threads
        cached = _BEFORE_CACHE.get(key)
        if cached is not None:
            _BEFORE_CACHE.move_to_end(key)
            return cached
    result = _analyze(text, path, settings, project)
    with _CACHE_LOCK:
        _BEFORE_CACHE[key] = result
        while len(_BEFORE_CACHE) > 4:
            _BEFORE_CACHE.popitem(last=False)
    return result


def _parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _masked(message: str) -> str:
    return _DIGITS.sub("#", message)


def _subject(message: str) -> str:
    """What a finding is about: messages start with it (``model may still be...``,
    ``decoder runs here...``); the rest may change wording after a fix."""
    return message.split(" ", 1)[0]


def _still_reported(finding: Finding, after: Sequence[Finding], moved: PositionMap) -> bool:
    """The same finding is in ``after``: same code at the mapped place, about the same
    model (two models reported at one loop header are two findings)."""
    where = moved.map(finding.range.start)
    subject = _subject(finding.message)
    return any(g.code == finding.code and g.range.start == where and _subject(g.message) == subject
               for g in after)


def _appeared(before: Sequence[Finding], after: Sequence[Finding],
              moved: PositionMap) -> list[Finding]:
    """Findings of ``after`` that no finding of ``before`` accounts for."""
    pool = Counter((f.code, moved.map(f.range.start)) for f in before)
    new = []
    for g in after:
        key = (g.code, g.range.start)
        if pool[key] > 0:
            pool[key] -= 1
        else:
            new.append(g)
    return new


def _gone(before: Sequence[Finding], after: Sequence[Finding],
          moved: PositionMap) -> list[Finding]:
    return [f for f in before if not _still_reported(f, after, moved)]


@dataclass
class _Check:
    ok: bool
    after: AnalysisResult | None = None
    moved: PositionMap | None = None


def _check(text: str, edits: Sequence[TextEdit], targets: Sequence[Finding],
           before: AnalysisResult, path: str, settings: Settings,
           project: ProjectIndex | None) -> _Check:
    """Apply ``edits`` and check every guarantee; the fixed text's analysis is kept."""
    try:
        new_text = apply_edits(text, edits)
    except ValueError:
        return _Check(False)
    if new_text == text or not _parses(new_text):
        return _Check(False)
    after = _analyze(new_text, path, settings, project)
    if after.syntax_error:
        return _Check(False)
    moved = PositionMap(text, new_text, edits)
    if any(_still_reported(t, after.findings, moved) for t in targets):
        return _Check(False, after, moved)
    if _appeared(before.findings, after.findings, moved):
        return _Check(False, after, moved)
    return _Check(True, after, moved)


def offered_fixes(text: str, path: str, finding: Finding, settings: Settings = DEFAULT_SETTINGS,
                  project: ProjectIndex | None = None) -> list[tuple[FixSpec, list[TextEdit]]]:
    """The fixes of ``finding`` whose edits pass every check, in the engine's order.

    Costs one analysis of ``text`` (cached across calls) and one of each fixed text.
    """
    if not finding.fixes:
        return []
    before = _analyze_cached(text, path, settings, project)
    offered = []
    for spec in finding.fixes:
        edits = edits_for_fix(text, spec)
        if not edits:
            continue
        if _check(text, edits, [finding], before, path, settings, project).ok:
            offered.append((spec, edits))
    return offered


# -- fix all ---------------------------------------------------------------------------------


@dataclass
class _Item:
    """One fix to apply, shared by the findings that asked for the same thing."""

    spec: FixSpec
    edits: list[TextEdit]          # without the import
    findings: list[Finding]
    key: tuple[object, ...]


def _choose(finding: Finding, unsafe: bool) -> FixSpec | None:
    allowed = [s for s in finding.fixes if s.safe or unsafe]
    if not allowed:
        return None
    preferred = [s for s in allowed if s.preferred]
    return (preferred or allowed)[0]


def _failure_key(doc: Doc, finding: Finding, spec: FixSpec) -> tuple[object, ...]:
    """Identifies a fix across rounds (line numbers move; the target's text does not,
    up to indentation)."""
    return (finding.code, _masked(finding.message), spec.kind, spec.code, spec.entity,
            doc.content(spec.target_line).strip())


def _plan(text: str, findings: Sequence[Finding], unsafe: bool,
          failed: set[tuple[object, ...]]) -> list[_Item]:
    doc = Doc(text)
    items: dict[tuple[object, ...], _Item] = {}
    for finding in findings:
        spec = _choose(finding, unsafe)
        if spec is None:
            continue
        key = _failure_key(doc, finding, spec)
        if key in failed:
            continue
        same = (spec.kind, spec.target_line, spec.target_end_line, spec.code)
        if same in items:
            items[same].findings.append(finding)
            continue
        edits = edits_for_fix(text, dataclasses.replace(spec, import_line=None))
        if not edits:
            failed.add(key)
            continue
        items[same] = _Item(spec, edits, [finding], key)
    return list(items.values())


def _span(index: LineIndex, edits: Sequence[TextEdit]) -> list[tuple[int, int]]:
    return [(index.offset(e.range.start), index.offset(e.range.end)) for e in edits]


def _compatible(text: str, plan: list[_Item]) -> list[_Item]:
    """A set of fixes that can be applied together: wraps do not overlap (the outer
    one goes first; nested ones wait for the next round, when re-analysis says if
    they are still needed); no new line is inserted inside a wrapped block (it would
    miss the re-indentation); one inserted call per model and kind per round (a
    second one may be redundant once the first is in); no overlapping edits."""
    index = LineIndex(text)
    plan = sorted(plan, key=lambda it: (it.spec.target_line,
                                        -(it.spec.target_end_line - it.spec.target_line)))
    wraps: list[tuple[int, int]] = []
    inserts: list[int] = []
    inserted: set[tuple[str, str | None]] = set()
    spans: list[tuple[int, int]] = []
    batch = []
    for item in plan:
        spec = item.spec
        lines = sorted({e.range.start.line for e in item.edits
                        if e.range.start.character == 0 and e.new_text.endswith(("\n", "\r"))})
        if spec.kind in _WRAPS:
            region = (spec.target_line, spec.target_end_line)
            if any(a <= region[1] and region[0] <= b for a, b in wraps):
                continue
            if any(region[0] < c <= region[1] for c in inserts):
                continue
        elif any(a < c <= b for a, b in wraps for c in lines):
            continue
        if spec.kind in (FixKind.INSERT_EVAL, FixKind.INSERT_TRAIN):
            if (spec.kind, spec.entity) in inserted:
                continue
        own = _span(index, item.edits)
        if any(_overlap(s, t) for s in own for t in spans):
            continue
        if spec.kind in _WRAPS:
            wraps.append((spec.target_line, spec.target_end_line))
        else:
            inserts.extend(lines)
        if spec.kind in (FixKind.INSERT_EVAL, FixKind.INSERT_TRAIN):
            inserted.add((spec.kind, spec.entity))
        spans.extend(own)
        batch.append(item)
    return batch


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two edits collide: their replaced ranges share text, or one inserts strictly
    inside the other's replaced range (inserts at the same point are fine)."""
    if a[0] == a[1] and b[0] == b[1]:
        return False
    return a[0] < b[1] and b[0] < a[1]


def _batch_edits(text: str, batch: Sequence[_Item]) -> list[TextEdit]:
    """The batch's edits, each needed import once and first (an import and a
    statement inserted at the same point: the import comes first)."""
    doc = Doc(text)
    imports: list[TextEdit] = []
    seen: set[str] = set()
    for item in batch:
        line = item.spec.import_line
        if line and line not in seen:
            seen.add(line)
            imports.extend(import_edit(doc, line) or [])
    # Statements inserted before a region go before a `with` header inserted at the same
    # point (`model.eval()` then `with torch.no_grad():`), so wraps come last.
    ordered = sorted(batch, key=lambda item: item.spec.kind in _WRAPS)
    return imports + [e for item in ordered for e in item.edits]


def fix_all(text: str, path: str, settings: Settings = DEFAULT_SETTINGS, *, unsafe: bool,
            project: ProjectIndex | None = None) -> FixAllResult:
    """Apply every verified fix (safe ones only unless ``unsafe``), round by round:
    analyse, apply a compatible batch, check it, repeat until nothing fixable is left.
    Running it again on its result changes nothing."""
    original = text
    current = _analyze(text, path, settings, project)
    if current.syntax_error:
        return FixAllResult(text, [], [], [])
    fixed: list[Finding] = []
    failed: set[tuple[object, ...]] = set()
    for _ in range(MAX_ROUNDS):
        plan = _plan(text, current.findings, unsafe, failed)
        if not plan:
            break
        batch = _compatible(text, plan)
        applied = _apply_batch(text, batch, current, path, settings, project)
        if applied is None and len(batch) > 1:  # some fix spoils the batch: one at a time
            for item in batch:
                applied = _apply_batch(text, [item], current, path, settings, project)
                if applied is not None:
                    break
                failed.add(item.key)
        elif applied is None:
            failed.add(batch[0].key)
        if applied is None:
            continue
        new_text, check = applied
        assert check.after is not None and check.moved is not None
        gone = _gone(current.findings, check.after.findings, check.moved)
        fixed.extend(gone if text == original else [_located_in(f, text, original) for f in gone])
        text, current = new_text, check.after
    return FixAllResult(text, diff_edits(original, text), fixed, list(current.findings))


def _located_in(finding: Finding, text: str, original: str) -> Finding:
    """``finding`` (found in ``text``, a later round's text) with its range moved to
    where its lines are in ``original``: lines are matched by their content without
    indentation (a wrap re-indents), columns shift with the indentation."""
    ours = split_lines(text)
    theirs = split_lines(original)
    matcher = difflib.SequenceMatcher(None, [x.strip() for x in ours],
                                      [x.strip() for x in theirs], autojunk=False)
    mapping: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            mapping[block.a + k] = block.b + k

    def move(position: Position) -> Position | None:
        line = mapping.get(position.line)
        if line is None:
            return None
        shift = _indent_width(theirs[line]) - _indent_width(ours[position.line])
        return Position(line, max(0, position.character + shift))

    start, end = move(finding.range.start), move(finding.range.end)
    if start is None or end is None:
        return finding
    return dataclasses.replace(finding, range=Range(start, end))


def _apply_batch(text: str, batch: Sequence[_Item], before: AnalysisResult, path: str,
                 settings: Settings, project: ProjectIndex | None
                 ) -> tuple[str, _Check] | None:
    if not batch:
        return None
    edits = _batch_edits(text, batch)
    targets = [f for item in batch for f in item.findings]
    check = _check(text, edits, targets, before, path, settings, project)
    if not check.ok:
        return None
    return apply_edits(text, edits), check


__all__ = ["FixAllResult", "fix_all", "offered_fixes"]



def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t\f"))
