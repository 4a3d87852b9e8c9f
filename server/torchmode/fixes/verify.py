"""Fixes that are checked before anyone sees them, and fix-all.

A fix is offered (``offered_fixes``) or applied (``fix_all``) only when, on the
fixed text: it parses; re-analysis no longer reports the fixed finding; and
no finding appears that was not there before (old findings are mapped
through the edits, so a finding that merely moved is not "new"). Since the
finding is gone, analysing the fixed text offers no fix for it again:
applying a fix twice changes nothing the second time.

The check runs every rule, whatever the user selected (a fix must not trade a
selected finding for an unselected one), and with the same cross-file facts as
the analysis: when a fix edits other files, or changes a function that other
files call, those files are analysed again with the fixed texts in the index.
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
from ..settings import ALL_CODES, DEFAULT_SETTINGS, Settings
from .build import edits_for_fix, import_edit
from .candidates import WRAPS, Fix, combined, completed, partner_of, single
from .complete import completions
from .layout import Doc
from .overlay import dependents, project_with
from .textedit import LineIndex, PositionMap, TextEdit, apply_edits, diff_edits, split_lines

if TYPE_CHECKING:
    from ..project import Project

# Rounds of analyse -> fix in fix_all. Each round applies a fix (and an applied fix
# leaves strictly fewer findings: new ones are refused) or marks one as failing, so
# the loop ends after at most findings + fixes rounds; this is only a safety net.
MAX_ROUNDS = 100
_DIGITS = re.compile(r"\d+")


def _analyze(text: str, path: str, settings: Settings,
             project: Project | None) -> AnalysisResult:
    from ..analyzer import analyze  # the engine; imported late to keep import order loose

    return analyze(text, path, settings, project)


_BEFORE_CACHE: OrderedDict[tuple[object, ...], AnalysisResult] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _analyze_cached(text: str, path: str, settings: Settings,
                    project: Project | None) -> AnalysisResult:
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


def _still_reported(finding: Finding, after: Sequence[Finding], moved: PositionMap) -> bool:
    """The same finding is in ``after``: same code at the mapped place, about the same
    model (two models reported at one loop header are two findings)."""
    where = moved.map(finding.range.start)
    return any(g.code == finding.code and g.range.start == where and g.subject == finding.subject
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
    new_text: str | None = None
    other_texts: dict[str, str] = field(default_factory=dict)
    fix: Fix | None = None


def every_rule(settings: Settings) -> Settings:
    """``settings`` with every rule on: a fix is checked against all of them, whatever
    the user selected (severity overrides and evaluation names are kept)."""
    if settings.select == ALL_CODES and not settings.ignore:
        return settings
    return dataclasses.replace(settings, select=ALL_CODES, ignore=())


def _edited_functions(text: str, edits: Sequence[TextEdit]) -> list[str]:
    """Top-level functions (and methods) of ``text`` whose lines the edits touch: what
    other files see of a change (their summaries)."""
    lines = {e.range.start.line + 1 for e in edits}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    names = []
    for node in tree.body:
        inner = node.body if isinstance(node, ast.ClassDef) else [node]
        for fn in inner:
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    fn.lineno <= line <= (fn.end_lineno or fn.lineno) + 1 for line in lines):
                names.append(fn.name)
    return names


def _check(text: str, fix: Fix, targets: Sequence[Finding], before: AnalysisResult,
           path: str, settings: Settings, project: Project | None) -> _Check:
    """Apply ``fix`` and check every guarantee, in its own file and in the files whose
    findings it may change (edited, or calling a function it edits), with every rule
    on; the fixed text's analysis is kept."""
    settings = every_rule(settings)
    try:
        new_text = apply_edits(text, list(fix.edits))
        others = {f.path: (f.text, apply_edits(f.text, list(f.edits)), f.edits)
                  for f in fix.other_files}
    except ValueError:
        return _Check(False)
    if new_text == text or not _parses(new_text) or not all(
            _parses(new) for _, new, _ in others.values()):
        return _Check(False)
    callers = dependents(project, path, _edited_functions(text, fix.edits))
    fixed_project = project
    if others or callers:
        texts = {path: new_text, **{p: new for p, (_, new, _) in others.items()}}
        fixed_project = project_with(project, texts)
    after = _analyze(new_text, path, settings, fixed_project)
    if after.syntax_error:
        return _Check(False)
    moved = PositionMap(text, new_text, list(fix.edits))
    if any(_still_reported(t, after.findings, moved) for t in targets):
        return _Check(False, after, moved)
    if _appeared(before.findings, after.findings, moved):
        return _Check(False, after, moved)
    for other in sorted(set(callers) | set(others)):
        old, new, edits = others.get(other, (_read(project, other), None, ()))
        if old is None:
            continue
        new = old if new is None else new
        was = _analyze(old, other, settings, project)  # not cached: overlays are short-lived
        now = _analyze(new, other, settings, fixed_project)
        if now.syntax_error or _appeared(was.findings, now.findings,
                                         PositionMap(old, new, list(edits))):
            return _Check(False, after, moved)
    return _Check(True, after, moved, new_text, {p: new for p, (_, new, _) in others.items()},
                  fix)


def _read(project: Project | None, path: str) -> str | None:
    """The text of a file that calls an edited function (found by ``dependents``, which
    read it)."""
    if project is None:
        return None
    from ..project import file_key

    entry = project.entries.get(file_key(path))
    return (entry.read() or None) if entry is not None else None


def offered_fixes(text: str, path: str, finding: Finding, settings: Settings = DEFAULT_SETTINGS,
                  project: Project | None = None) -> list[Fix]:
    """The fixes of ``finding`` whose edits pass every check, in the engine's order:
    each ``FixSpec`` as it is, or completed when alone it would leave a follow-on
    mistake; then the TM001+TM002 combination when both report the same region.

    Costs one analysis of ``text`` (cached across calls) and one of each fixed text
    (plus the files a fix changes or whose calls it changes).
    """
    if not finding.fixes:
        return []
    before = _analyze_cached(text, path, every_rule(settings), project)
    offered: list[Fix] = []
    for spec in finding.fixes:
        offered.extend(_verified(text, path, finding, spec, before, settings, project))
    offered.extend(_combinations(text, path, finding, offered, before, settings, project))
    return offered


def _verified(text: str, path: str, finding: Finding, spec: FixSpec, before: AnalysisResult,
              settings: Settings, project: Project | None) -> list[Fix]:
    """``spec``'s fix if it passes the checks; else its complete versions that do."""
    edits = edits_for_fix(text, spec)
    if not edits:
        return []
    minimal = single(spec, edits)
    if _check(text, minimal, [finding], before, path, settings, project).ok:
        return [minimal]
    found: list[Fix] = []
    for completion in completions(text, path, spec, project):
        fix = completed(spec, completion, spec.preferred and not found)
        if _check(text, fix, [finding], before, path, settings, project).ok:
            found.append(fix)
    return found


def _combinations(text: str, path: str, finding: Finding, offered: list[Fix],
                  before: AnalysisResult, settings: Settings,
                  project: Project | None) -> list[Fix]:
    """TM001's ``eval()`` and TM002's ``no_grad`` wrap of the same region as one fix,
    offered on both findings (beside the single fixes)."""
    mine = [f for f in offered if f.kind in (FixKind.INSERT_EVAL, FixKind.WRAP_NO_GRAD)]
    visible = [f for f in before.findings if settings.enabled(f.code)]
    for fix in mine:
        for other, other_spec in partner_of(finding, fix.spec, visible):
            if fix.kind == FixKind.INSERT_EVAL:
                eval_fixes, wrap = [fix], other_spec
            else:
                wrap = fix.spec
                eval_fixes = _verified(text, path, other, other_spec, before, settings, project)
            wrap_edits = edits_for_fix(text, wrap)
            for eval_fix in eval_fixes[:1]:
                both = combined(eval_fix, wrap, wrap_edits or [])
                if wrap_edits and _check(text, both, [finding, other], before, path, settings,
                                         project).ok:
                    return [both]
    return []


# -- fix all ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangedFile:
    """Another file of the project that fix-all changed (a complete fix's partner edit)."""

    path: str
    old_text: str
    new_text: str

    @property
    def edits(self) -> list[TextEdit]:
        return diff_edits(self.old_text, self.new_text)


@dataclass
class FixAllResult:
    """``text`` after fixing; ``edits`` turn the original text into it (minimal, line
    granular); ``fixed``: findings that the fixes removed, with ranges in the original
    text (a finding first seen in a later round is moved back by matching lines);
    ``remaining``: the findings of the final text; ``other_files``: other files of the
    project that the fixes changed too (apply them together, or not at all);
    ``applied``: each fixed finding with the fix that fixed it."""

    text: str
    edits: list[TextEdit] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    other_files: list[ChangedFile] = field(default_factory=list)
    applied: list[tuple[Finding, Fix]] = field(default_factory=list)


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
    taken = _Taken()
    batch = []
    for item in plan:
        lines = sorted({e.range.start.line for e in item.edits
                        if e.range.start.character == 0 and e.new_text.endswith(("\n", "\r"))})
        if not taken.admits(item.spec, lines):
            continue
        own = _span(index, item.edits)
        if any(_overlap(s, t) for s in own for t in taken.spans):
            continue
        taken.add(item.spec, lines, own)
        batch.append(item)
    return batch


_INSERT_CALLS = (FixKind.INSERT_EVAL, FixKind.INSERT_TRAIN)


@dataclass
class _Taken:
    """What the fixes already chosen for a round occupy (see ``_compatible``)."""

    wraps: list[tuple[int, int]] = field(default_factory=list)   # wrapped line ranges
    inserts: list[int] = field(default_factory=list)   # lines where new lines go in
    inserted: set[tuple[str, str | None]] = field(default_factory=set)  # (kind, model)
    spans: list[tuple[int, int]] = field(default_factory=list)   # replaced text offsets

    def admits(self, spec: FixSpec, lines: list[int]) -> bool:
        """Whether a fix inserting new lines at ``lines`` fits beside the ones taken,
        its edits' overlap aside."""
        if spec.kind in WRAPS:
            first, last = spec.target_line, spec.target_end_line
            if any(a <= last and first <= b for a, b in self.wraps):
                return False
            if any(first < c <= last for c in self.inserts):
                return False
        elif any(a < c <= b for a, b in self.wraps for c in lines):
            return False
        return spec.kind not in _INSERT_CALLS or (spec.kind, spec.entity) not in self.inserted

    def add(self, spec: FixSpec, lines: list[int], own: list[tuple[int, int]]) -> None:
        if spec.kind in WRAPS:
            self.wraps.append((spec.target_line, spec.target_end_line))
        else:
            self.inserts.extend(lines)
        if spec.kind in _INSERT_CALLS:
            self.inserted.add((spec.kind, spec.entity))
        self.spans.extend(own)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two edits collide: their replaced ranges share text, or one inserts strictly
    inside the other's replaced range (inserts at the same point are fine)."""
    if a[0] == a[1] and b[0] == b[1]:
        return False
    return a[0] < b[1] and b[0] < a[1]


def _batch_fix(text: str, batch: Sequence[_Item]) -> Fix:
    """The batch's edits as one fix, each needed import once and first (an import and
    a statement inserted at the same point: the import comes first)."""
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
    ordered = sorted(batch, key=lambda item: item.spec.kind in WRAPS)
    edits = imports + [e for item in ordered for e in item.edits]
    return Fix(batch[0].spec, tuple(edits), (), tuple(item.spec.kind for item in ordered))


def _alternatives(text: str, path: str, item: _Item,
                  project: Project | None) -> list[Fix]:
    """What fix-all may apply for ``item`` alone: the fix as it is, then its complete
    versions (the same order as the quick fixes)."""
    first = _batch_fix(text, [item])
    rest = [completed(item.spec, c, False) for c in completions(text, path, item.spec, project)]
    return [first, *rest]


@dataclass
class _State:
    """Fix-all's progress: the text, its analysis (every rule on), other files changed."""

    original: str
    text: str
    current: AnalysisResult
    others: dict[str, ChangedFile] = field(default_factory=dict)
    applied: list[tuple[Finding, Fix]] = field(default_factory=list)

    def project(self, base: Project | None) -> Project | None:
        return project_with(base, {p: c.new_text for p, c in self.others.items()})


def fix_all(text: str, path: str, settings: Settings = DEFAULT_SETTINGS, *, unsafe: bool,
            project: Project | None = None) -> FixAllResult:
    """Apply every verified fix (safe ones only unless ``unsafe``) of the findings the
    settings select, round by round: analyse, apply a compatible batch (or the largest
    half of it that passes), check it with every rule on, repeat until nothing fixable
    is left. A fix that fails alone is tried in its complete versions, as the quick
    fixes are. Running it again on its result changes nothing."""
    everything = every_rule(settings)
    current = _analyze(text, path, everything, project)
    if current.syntax_error:
        return FixAllResult(text, [], [], [])
    state = _State(text, text, current)
    failed: set[tuple[object, ...]] = set()
    for _ in range(MAX_ROUNDS):
        wanted = [f for f in state.current.findings if settings.enabled(f.code)]
        plan = _plan(state.text, wanted, unsafe, failed)
        if not plan:
            break
        batch = _compatible(state.text, plan)
        applied = _apply_some(state, batch, path, everything, state.project(project), failed)
        if applied is not None:
            _advance(state, applied[0], applied[1], settings)
    remaining = [f for f in state.current.findings if settings.enabled(f.code)]
    return FixAllResult(state.text, diff_edits(text, state.text), [f for f, _ in state.applied],
                        remaining, list(state.others.values()), state.applied)


Parts = list[tuple[list[Finding], Fix]]  # the findings each applied fix was meant for


def _apply_some(state: _State, batch: list[_Item], path: str, settings: Settings,
                project: Project | None, failed: set[tuple[object, ...]]
                ) -> tuple[_Check, Parts] | None:
    """Apply the whole batch if it passes, else the first of its halves (recursively)
    that does; a single fix is tried in its alternatives, and marked failed when none
    passes. Halving keeps a file with one bad fix among hundreds at a few analyses."""
    if len(batch) == 1:
        item = batch[0]
        for fix in _alternatives(state.text, path, item, project):
            check = _apply(state.text, fix, item.findings, state, path, settings, project)
            if check is not None:
                return check, [(item.findings, fix)]
        failed.add(item.key)
        return None
    targets = [f for item in batch for f in item.findings]
    check = _apply(state.text, _batch_fix(state.text, batch), targets, state, path, settings,
                   project)
    if check is not None:
        return check, [(item.findings, single(item.spec, item.edits)) for item in batch]
    middle = len(batch) // 2
    return (_apply_some(state, batch[:middle], path, settings, project, failed)
            or _apply_some(state, batch[middle:], path, settings, project, failed))


def _advance(state: _State, check: _Check, parts: Parts, settings: Settings) -> None:
    """Take a successful check's fixed texts and findings as the new state; each finding
    that went away is recorded with the fix meant for it (a finding cleared on the way
    by another fix: with the round's first fix)."""
    assert check.after is not None and check.moved is not None and check.new_text is not None
    gone = [f for f in _gone(state.current.findings, check.after.findings, check.moved)
            if settings.enabled(f.code)]
    for finding in gone:
        fix = next((fix for findings, fix in parts if finding in findings), parts[0][1])
        if state.text != state.original:
            finding = _located_in(finding, state.text, state.original)
        state.applied.append((finding, fix))
    assert check.fix is not None
    for edited in check.fix.other_files:
        known = state.others.get(edited.path)
        old = known.old_text if known is not None else edited.text
        state.others[edited.path] = ChangedFile(edited.path, old, check.other_texts[edited.path])
    state.text, state.current = check.new_text, check.after


def _apply(text: str, fix: Fix, targets: Sequence[Finding], state: _State, path: str,
           settings: Settings, project: Project | None) -> _Check | None:
    check = _check(text, fix, targets, state.current, path, settings, project)
    return check if check.ok else None


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


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t\f"))


__all__ = ["ChangedFile", "FixAllResult", "every_rule", "fix_all", "offered_fixes"]
