"""Checking one file for ``torchmode check``: read it as Python reads it, analyse it,
list each finding with the fix ``--fix`` would apply (verified), or fix it (``--fix``
writes, ``--diff`` prints), and report positions as people count them.

Runs in the worker processes with ``--jobs``; imports only light modules at the top
(the engine, libcst and the notebook reader are imported when a file needs them).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .findings import Finding, InternalError, Outcome, ParseError, Partial, Range, Severity
from .output import FileReport, ListedFix, Location, RelatedReport, Reported
from .settings import Settings


@dataclass(frozen=True)
class Task:
    """One file to check, with its settings (resolved in the parent process)."""

    path: str
    settings: Settings
    fix: bool = False
    diff: bool = False
    unsafe: bool = False


# --- reading and positions ------------------------------------------------------------

def line_texts(text: str) -> list[str]:
    """Lines without their endings, counted as Python counts them."""
    from .source import split_lines

    return [line.rstrip("\r\n") for line in split_lines(text)]


def read_source(path: str) -> tuple[str, str]:
    """(text, encoding) of a Python file; CRLF kept. Raises ``OSError``/``ValueError``
    with a one-line reason."""
    with open(path, "rb") as handle:
        return decode_python(handle.read())


def decode_python(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a Python file's bytes, decoded as Python does (PEP 263
    cookie, BOM dropped from the text). Raises ``ValueError`` with a one-line reason."""
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # a bad cookie, or undecodable bytes in the first two lines
        if "missing encoding declaration" in (exc.msg or ""):
            encoding = "utf-8"  # no cookie: the decode below names the offending byte
        else:
            raise ValueError(f"invalid encoding declaration: {exc.msg}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        name = "UTF-8" if encoding in ("utf-8", "utf-8-sig") else encoding
        raise ValueError(
            f"not valid {name}: byte 0x{data[exc.start]:02x} at line {line} cannot be decoded"
        ) from None
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None
    if text.startswith("\ufeff"):  # utf-8-sig decodes the BOM away; other codecs keep it
        text = text[1:]
    return text, encoding


class _Positions:
    """UTF-16 LSP positions -> 1-based human locations for one text."""

    def __init__(self, text: str, notebook: Any = None) -> None:
        self.lines = line_texts(text)
        self.notebook = notebook

    def _char(self, line: int, utf16: int) -> int:
        from .source import codepoint_index

        text = self.lines[line] if 0 <= line < len(self.lines) else ""
        return codepoint_index(text, utf16)

    def cell_of(self, line: int) -> tuple[int | None, int]:
        """(1-based cell, offset of the cell's first joined line) or (None, 0)."""
        if self.notebook is None:
            return None, 0
        located = self.notebook.locate(line)
        return located.cell + 1, line - located.line

    def locate(self, rng: Range) -> tuple[Range, Location]:
        """The range made cell-relative (notebooks) and its human location."""
        cell, offset = self.cell_of(rng.start.line)
        start, end = rng.start, rng.end
        location = Location(
            line=start.line - offset + 1,
            column=self._char(start.line, start.character) + 1,
            end_line=end.line - offset + 1,
            end_column=self._char(end.line, end.character) + 1,
            utf16_column=start.character + 1,
            utf16_end_column=end.character + 1,
            cell=cell,
        )
        if offset:
            rng = Range.of(start.line - offset, start.character, end.line - offset, end.character)
        return rng, location

    def cell_message(self, message: str) -> str:
        """In a notebook, engine lines (of the joined cells) named by cell and line."""
        if self.notebook is None:
            return message
        return self.notebook.cell_message(message)

    def report(self, path: str, finding: Finding, fixes: tuple[ListedFix, ...] = ()) -> Reported:
        if self.notebook is not None:
            finding = replace(finding, message=self.cell_message(finding.message))
        rng, location = self.locate(finding.range)
        related = []
        for rel in finding.related:
            if rel.path is None or os.path.abspath(rel.path) == os.path.abspath(path):
                rel_range, rel_loc = self.locate(rel.range)
                related.append(RelatedReport(path, rel_range, rel_loc,
                                             self.cell_message(rel.message)))
            else:  # another file: its text is not at hand; columns are reported as UTF-16
                r = rel.range
                loc = Location(r.start.line + 1, r.start.character + 1, r.end.line + 1,
                               r.end.character + 1, r.start.character + 1, r.end.character + 1)
                related.append(RelatedReport(rel.path, r, loc, rel.message))
        return Reported(replace(finding, range=rng), location, tuple(related), fixes)


# --- checking one file -------------------------------------------------------------------

_PROJECT: Any = None   # this process's project facts (None: each file on its own)
_STORE: Any = None     # the disk cache of earlier reports, or None


def init_worker(project: Any, store: Any = None) -> None:
    """Set the facts and cache ``run_task`` uses (the initializer of worker processes)."""
    global _PROJECT, _STORE
    _PROJECT = project
    _STORE = store


def run_task(task: Task) -> FileReport:
    """Check (and maybe fix) one file; any failure becomes a one-line error, never a traceback."""
    try:
        if _STORE is not None and not (task.fix or task.diff):
            from .resultcache import cached_report

            return cached_report(task, _PROJECT, _STORE,
                                 lambda project, data: _check(task, project, data))
        return _check(task, _PROJECT, None)
    except RecursionError:
        return FileReport(task.path, error="too deeply nested to analyse (recursion limit)")
    except MemoryError:
        return FileReport(task.path, error="out of memory while analysing")
    except Exception as exc:  # an engine bug must not hide the other files' results
        return FileReport(task.path, error=f"internal error: {type(exc).__name__}: {exc}")


def _check(task: Task, project: Any, data: bytes | None) -> FileReport:
    """The report of one file (``data``: its bytes, when already read)."""
    if task.path.endswith(".ipynb"):
        return _without_hints(_check_notebook(task, project, data), task.settings)
    return _without_hints(_check_python(task, project, data), task.settings)


def _without_hints(report: FileReport, settings: Settings) -> FileReport:
    """Hint-severity findings are printed only when asked for (RULES.md §3)."""
    if not settings.show_hints:
        report.findings = [r for r in report.findings if r.finding.severity is not Severity.HINT]
    return report


def _outcome_error(outcome: Outcome, notebook: Any = None) -> str | None:
    """The one line a file that could not be analysed gets: a syntax error with a
    1-based position (cell-relative in notebooks) or an internal error; else None."""
    if isinstance(outcome, InternalError):
        return f"internal error in {outcome.where}: {outcome.exception}"
    if not isinstance(outcome, ParseError):
        return None
    if notebook is not None and notebook.start_lines:
        located = notebook.locate(outcome.line)
        return (f"syntax error at cell {located.cell + 1}, line {located.line + 1}, "
                f"column {outcome.col + 1}: {outcome.message}")
    return f"syntax error at line {outcome.line + 1}, column {outcome.col + 1}: {outcome.message}"


def _outcome_note(outcome: Outcome) -> str | None:
    if isinstance(outcome, Partial):
        skipped = f" ({', '.join(outcome.skipped)})" if outcome.skipped else ""
        return f"partial analysis: {outcome.reason}{skipped}; findings may be missing"
    return None


def _check_python(task: Task, project: Any, data: bytes | None = None) -> FileReport:
    from .analyzer import analyze
    from .writeback import read_file

    try:
        original = read_file(task.path) if data is None else read_file(task.path, data)
        text, encoding = decode_python(original.data)
    except OSError as exc:
        return FileReport(task.path, error=f"cannot read: {exc.strerror or exc}")
    except ValueError as exc:
        return FileReport(task.path, error=str(exc))
    lines = text.count("\n") + 1 if text else 0
    result = analyze(text, task.path, task.settings, project)
    if isinstance(result.outcome, ParseError):
        return FileReport(task.path, error=_outcome_error(result.outcome), lines=lines)
    findings = result.findings
    if (task.fix or task.diff) and _fixable(findings, task.unsafe) and \
            not isinstance(result.outcome, InternalError):
        refusal = _fix_refusal(text)
        if refusal is not None:  # nothing is listed as fixable either
            positions = _Positions(text)
            return FileReport(task.path, [positions.report(task.path, f) for f in findings],
                              lines=lines, warnings=[refusal])
        return _fix_python(task, project, original, text, encoding, lines, findings)
    return FileReport(task.path, _reports(task, project, text, findings), lines=lines,
                      error=_outcome_error(result.outcome), note=_outcome_note(result.outcome))


def _fixable(findings: Iterable[Finding], unsafe: bool) -> bool:
    return any(fix.safe or unsafe for f in findings for fix in f.fixes)


def _reports(task: Task, project: Any, text: str, findings: Sequence[Finding],
             notebook: Any = None) -> list[Reported]:
    """The findings to print, each with the fix ``--fix --unsafe-fixes`` would apply to
    it (verified, complete or combined as applied), not the engine's unverified specs."""
    positions = _Positions(text, notebook)
    listed = _listed_fixes(task, project, text, findings)
    return [positions.report(task.path, f, listed.get((f.code, f.range), ())) for f in findings]


def _listed_fixes(task: Task, project: Any, text: str, findings: Sequence[Finding]
                  ) -> dict[tuple[str, Range], tuple[ListedFix, ...]]:
    """What fix-all would fix, found by running it (in memory): one run verifies all
    the fixes of a file together, as ``--fix`` applies them. By code and range: a
    finding fixed in a later round may word its message differently by then."""
    if not any(f.fixes for f in findings) or _fix_refusal(text) is not None:
        return {}
    from .fixes import fix_all  # only files with a fixable finding pay for libcst

    outcome = fix_all(text, task.path, task.settings, unsafe=True, project=project)
    return {(finding.code, finding.range): (ListedFix(fix.title, fix.kind, fix.safe, fix.kinds),)
            for finding, fix in outcome.applied}


def _fix_refusal(text: str) -> str | None:
    """Why no fix is listed or made for ``text`` (libcst's native parser would crash
    on its nesting), or None."""
    from .fixes.layout import MAX_FIX_DEPTH, nesting_depth

    if nesting_depth(text) > MAX_FIX_DEPTH:
        return f"not fixed: nested more than {MAX_FIX_DEPTH} levels deep"
    return None


def _fix_python(task: Task, project: Any, original: Any, text: str, encoding: str,
                lines: int, findings: Sequence[Finding]) -> FileReport:
    """Fix, then write (``--fix``) or diff (``--diff``); on a refused write the file's
    ``findings`` are reported as they stand."""
    from .fixes import fix_all
    from .writeback import NotWritten, read_file, write_files

    outcome = fix_all(text, task.path, task.settings, unsafe=task.unsafe, project=project)
    before = _Positions(text)
    fixed = [before.report(task.path, f) for f in outcome.fixed]
    remaining = _reports(task, project, outcome.text, outcome.remaining)
    report = FileReport(task.path, remaining, lines=lines, fixed=fixed)
    if outcome.text == text:
        return report
    changes = [(task.path, text, outcome.text, encoding)]
    partners: list[tuple[Any, str, str]] = []
    for other in outcome.other_files:  # a complete fix's partner edit in another file
        try:
            read = read_file(other.path)
            on_disk, other_encoding = decode_python(read.data)
        except (OSError, ValueError) as exc:
            return FileReport(task.path, error=f"not fixed: cannot read {other.path}: {exc}")
        if on_disk != other.old_text:
            return FileReport(task.path, error=f"not fixed: {other.path} changed while "
                              "fixing; run again")
        changes.append((other.path, other.old_text, other.new_text, other_encoding))
        partners.append((read, other.new_text, other_encoding))
    if task.diff:
        report.diff = "".join(_unified_diff(path, old, new) for path, old, new, _ in changes)
        return report
    try:
        write_files([(original, outcome.text.encode(encoding))]
                    + [(read, new.encode(enc)) for read, new, enc in partners])
    except (NotWritten, OSError) as exc:
        reason = str(exc) if isinstance(exc, NotWritten) else f"cannot write: {exc.strerror or exc}"
        before_fix = _Positions(text)
        return FileReport(task.path, [before_fix.report(task.path, f) for f in findings],
                          lines=lines, error=reason)
    return report


def _unified_diff(path: str, old: str, new: str) -> str:
    import difflib

    from .source import split_lines

    name = path.replace(os.sep, "/")
    diff = "".join(difflib.unified_diff(
        split_lines(old), split_lines(new), fromfile=f"a/{name}", tofile=f"b/{name}"))
    if diff and not diff.endswith("\n"):
        diff += "\n\\ No newline at end of file\n"
    return diff


def _check_notebook(task: Task, project: Any, raw: bytes | None = None) -> FileReport:
    """Code cells in order as one program; notebooks are reported, never rewritten by --fix."""
    from .analyzer import analyze
    from .notebook import NotebookText
    from .resultcache import notebook_text

    try:
        if raw is not None:
            data = notebook_text(raw)
        else:
            with open(task.path, encoding="utf-8") as handle:
                data = handle.read()
    except OSError as exc:
        return FileReport(task.path, error=f"cannot read: {exc.strerror or exc}", notebook=True)
    except UnicodeDecodeError as exc:
        return FileReport(task.path, error=f"not valid UTF-8 ({exc.reason})", notebook=True)
    try:
        notebook = NotebookText.from_ipynb(data)
    except ValueError as exc:
        return FileReport(task.path, error=str(exc), notebook=True)
    lines = notebook.text.count("\n")
    result = analyze(notebook.text, task.path, task.settings, project)
    if isinstance(result.outcome, ParseError):
        error = _outcome_error(result.outcome, notebook)
        return FileReport(task.path, error=error, lines=lines, notebook=True)
    found = _reports(task, project, notebook.text, result.findings, notebook)
    warnings = [cell.describe() for cell in notebook.broken]
    return FileReport(task.path, found, lines=lines, notebook=True, warnings=warnings,
                      error=_outcome_error(result.outcome), note=_outcome_note(result.outcome))
