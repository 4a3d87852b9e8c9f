"""The engine entry point: ``analyze(text, path, settings, facts) -> AnalysisResult``.

Parse once with ``ast``; collect facts in one walk; run the mode dataflow over the
module and its functions, reading (never writing) the project facts of the other
files; let each rule read the shared facts; then apply the settings
(select/ignore/severity) and ``# noqa`` comments.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeAlias

from .analysis.prefilter import file_prefilter
from .findings import INTERNAL_ERROR_PREFIX as INTERNAL_ERROR_PREFIX  # re-exported
from .findings import (
    OK,
    AnalysisResult,
    Finding,
    ForwardCallFact,
    InternalError,
    Outcome,
    ParseError,
    Partial,
    Severity,
)
from .settings import DEFAULT_SETTINGS, Settings
from .source import SourceSyntaxError, SourceText, parse_python

if TYPE_CHECKING:
    from .analysis.context import FileAnalysis
    from .project import ProjectIndex
    from .reads import RecordingFacts
    from .replay import ReplayFacts
    from .solve import ProjectFacts

# the facts, or the facts with what the analysis reads recorded
Facts: TypeAlias = "ProjectFacts | RecordingFacts | ReplayFacts"
# (text, path) -> its module; raises SourceSyntaxError
Parser: TypeAlias = Callable[[str, str], ast.Module]

_MIN_RECURSION = 12000 if sys.version_info >= (3, 11) else 3000


def analyze(text: str, path: str = "<unknown>", settings: Settings = DEFAULT_SETTINGS,
            project: Facts | ProjectIndex | None = None,
            parse: Parser = parse_python) -> AnalysisResult:
    """Analyse one file's text against the project facts (an index stands for its
    current facts). Never raises: the outcome says whether the file was analysed
    (``Ok``), does not parse, stopped early, or hit an engine bug. ``parse`` may reuse
    an earlier parse (``incremental_parse.py``); it must give ``parse_python``'s tree."""
    # Deeply nested input recurses deeply (expressions are walked recursively). From
    # Python 3.11 on, Python-to-Python calls do not use the C stack, so a higher limit is
    # safe; it is raised once and left there (lowering it again would race with other
    # threads analysing at the same time).
    if sys.getrecursionlimit() < _MIN_RECURSION:
        sys.setrecursionlimit(_MIN_RECURSION)
    try:
        return _analyze(text, path, settings, project, parse)
    except SourceSyntaxError as exc:
        return AnalysisResult(outcome=_parse_error(text, exc))
    except RecursionError:
        return AnalysisResult(outcome=InternalError(
            "analysis", "RecursionError: nesting too deep to analyse"))
    except Exception as exc:  # last-resort guard: one line for the user, the trace logged
        return AnalysisResult(outcome=_internal_error("analysis", exc))


def _parse_error(text: str, exc: SourceSyntaxError) -> ParseError:
    """The error's position in ``text`` itself: given the name of a file on disk,
    CPython measures the column against that file's line, which is not this text's
    for a notebook (the file is JSON) or an unsaved editor buffer."""
    try:
        parse_python(text)
    except SourceSyntaxError as again:
        exc = again
    return ParseError(exc.line, exc.character, exc.message)


def _internal_error(where: str, exc: Exception) -> InternalError:
    import traceback

    return InternalError(where, f"{type(exc).__name__}: {exc}",
                         "".join(traceback.format_exception(exc)))


def project_facts(project: Facts | ProjectIndex | None,
                  settings: Settings) -> Facts | None:
    """The facts to analyse with: an index's current facts for these settings."""
    from .project import ProjectIndex

    if isinstance(project, ProjectIndex):
        return project.facts(settings)
    return project


def _analyze(text: str, path: str, settings: Settings,
             project: Facts | ProjectIndex | None, parse: Parser) -> AnalysisResult:
    tree = parse(text, path)
    extra = settings.evaluation_function_names + settings.evaluation_loader_names
    if not file_prefilter().search(text) and not (extra and _mentions_any(text, extra)):
        return AnalysisResult()
    fa = build(tree, SourceText(text, path), path, settings, project_facts(project, settings))
    return report(fa)


def _mentions_any(text: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        core = pattern.strip("*?[]")
        if not core or core in text:
            return True
    return False


def build(tree: ast.Module, src: SourceText, path: str, settings: Settings,
          project: Facts | None) -> FileAnalysis:
    """Facts and dataflow for one parsed file."""
    from .analysis.context import FileAnalysis
    from .analysis.facts import collect
    from .analysis.flow import Interpreter
    from .analysis.layers import Resolver, file_summaries

    facts = collect(tree, path)
    module_name = project.module_name(path) if project is not None else None
    resolver = Resolver(file_summaries(facts, path), facts.imports, project, module_name)
    external = project.summary_lookup(path) if project is not None else None
    callers = project.caller_lookup(path) if project is not None else None
    interp = Interpreter(tree, facts, resolver, path, settings.evaluation_function_names,
                         settings.evaluation_loader_names, external, is_test_path(path), callers)
    interp.run_all(src.lines)
    fa = FileAnalysis(src, path, tree, facts, interp, resolver, settings)
    fa.prepare()
    return fa


def is_test_path(path: str) -> bool:
    """pytest files: ``test_*.py``, ``*_test.py``, ``conftest.py``."""
    name = os.path.basename(path)
    return (name.startswith("test_") and name.endswith(".py")) or name.endswith("_test.py") \
        or name == "conftest.py"


def report(fa: FileAnalysis) -> AnalysisResult:
    """Run each enabled rule under its own guard: a failing rule costs its own
    findings only, and the outcome names it."""
    from .analysis.api import Facts
    from .rules import CHECKS, RULES

    settings = fa.settings
    facts = Facts(fa)
    findings: list[Finding] = []
    failed: InternalError | None = None
    for code, check in CHECKS.items():
        if not settings.enabled(code):
            continue
        try:  # a rule sees only the facts it declared (the prefilter is made from them)
            found = list(check(facts.for_rule(RULES[code].needs)))
        except Exception as exc:
            failed = failed or _internal_error(f"rule {code}", exc)
            continue
        override = settings.severity.get(code)
        if override is not None:
            found = [replace(f, severity=Severity(override)) if f.severity != override else f
                     for f in found]
        findings.extend(found)
    if findings:
        findings = _without_noqa(fa.src, findings)
    findings.sort(key=lambda f: (f.range.start, f.range.end, f.code))
    outcome: Outcome = failed or _partial(fa) or OK
    return AnalysisResult(findings, _forward_facts(fa), outcome, _entities(fa))


def _partial(fa: FileAnalysis) -> Partial | None:
    stops = fa.interp.stopped_early
    if not stops:
        return None
    reasons = sorted({reason for reason, _ in stops})
    return Partial("; ".join(reasons), tuple(sorted({where for _, where in stops})))


def _without_noqa(src: SourceText, findings: list[Finding]) -> list[Finding]:
    from .noqa import is_suppressed

    lines = src.lines
    return [f for f in findings if not is_suppressed(lines, f)]


def _forward_facts(fa: FileAnalysis) -> list[ForwardCallFact]:
    from .analysis.model import GradState, ModeKind

    out: list[ForwardCallFact] = []
    for ev in fa.interp.events.forwards.values():
        rng = fa.range(ev.node)
        if ev.grad == {GradState.ON}:
            grad: bool | None = True
        elif ev.grad == {GradState.OFF}:
            grad = False
        else:
            grad = None
        # lines of this file only (a caller in another file may have set the mode)
        lines = [m.line for m in ev.modes if m.line is not None and not m.where]
        modes = frozenset(m.public_kind for m in ev.modes) or frozenset({ModeKind.UNKNOWN})
        out.append(ForwardCallFact(ev.key, rng.start.line, rng.start.character, modes, grad,
                                   max(lines) if lines else None))
    out.sort(key=lambda f: (f.line, f.character))
    return out


def _entities(fa: FileAnalysis) -> list[Any]:
    from .analysis.model import EntityOccurrence, ModeKind
    from .analysis.overrides import held_in_eval

    out: list[EntityOccurrence] = []
    for node, key, modes, cls in fa.interp.events.occurrences.values():
        lines = [m.line for m in modes if m.line is not None and not m.where]
        info = fa.layers_of(cls)
        rng = fa.range(node)
        out.append(EntityOccurrence(
            key, rng, frozenset(m.public_kind for m in modes) or frozenset({ModeKind.UNKNOWN}),
            max(lines) if lines else None,
            info.class_name if info is not None else (cls.rsplit(".", 1)[-1] if cls else None),
            info.path if info is not None else None,
            info.summary() if info is not None else None,
            held_in_eval(fa, key, rng.start.line)))
    out.sort(key=lambda e: (e.range.start, e.range.end))
    return out
