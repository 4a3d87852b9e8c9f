"""The ``torchmode`` command: ``check``, ``rule``, ``server``.

Start-up matters (a pre-commit hook runs it on every commit): this module
imports only the standard library and torchmode's light modules at the top;
the engine is imported when the first file is checked, the fix engine (libcst)
only with ``--fix``/``--diff`` or when a finding has a fix to verify (a fix is
listed only once verified), the language server (pygls) only by ``server``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from . import __version__
from .config import ConfigError, is_excluded, load_settings, merge_cli, split_codes
from .findings import Finding, InternalError, Outcome, ParseError, Partial, Range, Severity
from .output import FORMATS, FileReport, ListedFix, Location, RelatedReport, Reported
from .settings import ALL_CODES, Settings

SKIP_DIRS = frozenset({
    ".venv", "venv", "node_modules", ".git", ".hg", ".svn", "__pycache__", "build", "dist",
    ".tox", ".nox", ".eggs", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints",
})
SUFFIXES = (".py", ".ipynb")
PROGRESS_MIN_FILES = 20

CHECK_EPILOG = """\
Paths may be files or folders (searched recursively for .py and .ipynb files;
.venv, node_modules, .git, __pycache__, build, dist and the `exclude` globs of
[tool.torchmode] are skipped).

Positions are 1-based `line:col` with columns in characters (json output uses
0-based LSP ranges with UTF-16 columns). In notebooks, code cells are analysed
in order as one program and positions read `cell N:line:col`: N is the 1-based
number of the cell among all cells of the notebook (markdown cells counted, as
Jupyter shows them) and the line is 1-based within that cell.

Hint-severity findings (TM001 on a model without Dropout or BatchNorm, where
eval() changes nothing today) are printed only with --show-hints (or
`show-hints = true` in [tool.torchmode]) and never count for the exit status.

Exit status: 0 no findings, 1 findings (0 with --exit-zero), 2 usage or
configuration error, or a file that could not be analysed (other files are
still analysed and reported)."""


# --- files --------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One file to check, with its settings (resolved in the parent process)."""

    path: str
    settings: Settings
    fix: bool = False
    diff: bool = False
    unsafe: bool = False


def discover(paths: Sequence[str], select: list[str] | None,
             ignore: list[str] | None) -> tuple[list[tuple[str, Settings]], list[FileReport]]:
    """Files to check (sorted, deduplicated) with merged settings, and reports for bad paths.

    Raises ``ConfigError`` for invalid configuration or codes.
    """
    found: dict[str, tuple[str, Settings]] = {}
    missing: list[FileReport] = []
    merged: dict[Settings, Settings] = {}

    def settings_for(path: str) -> Settings:
        base = load_settings(path)
        if base not in merged:
            merged[base] = merge_cli(base, select, ignore)
        return merged[base]

    for raw in paths:
        path = os.path.normpath(raw)
        if os.path.isdir(path):
            for file in _walk(path, settings_for, missing):
                found.setdefault(os.path.abspath(file), (file, settings_for(file)))
        elif os.path.isfile(path):
            settings = settings_for(path)
            if not is_excluded(path, settings):
                found.setdefault(os.path.abspath(path), (path, settings))
        elif os.path.lexists(path):
            missing.append(FileReport(path, error="not a regular file or folder"))
        else:
            missing.append(FileReport(path, error="no such file or directory"))
    files = sorted(found.values(), key=lambda item: _sort_key(item[0]))
    return files, missing


def _sort_key(path: str) -> tuple[str, ...]:
    return tuple(path.replace(os.sep, "/").split("/"))


def _walk(root: str, settings_for: Any, unreadable: list[FileReport]) -> Iterator[str]:
    """Files to check under ``root``; a folder that cannot be listed is reported in
    ``unreadable`` like a file that cannot be read (never skipped in silence)."""

    def report(exc: OSError) -> None:
        folder = os.path.normpath(exc.filename or root)
        unreadable.append(FileReport(folder, error=f"cannot read folder: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=report):
        settings = settings_for(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not d.endswith(".egg-info")
            and not is_excluded(os.path.join(dirpath, d), settings)
        )
        for name in sorted(filenames):
            if name.endswith(SUFFIXES):
                file = os.path.join(dirpath, name)
                # isfile: a FIFO named x.py would block the read; broken links are skipped
                if os.path.isfile(file) and not is_excluded(file, settings):
                    yield os.path.normpath(file)


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


# --- checking one file (runs in worker processes with --jobs) ---------------------------

_PROJECT: Any = None
_STORE: Any = None


def _init_worker(project: Any, store: Any = None) -> None:
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


# --- running many files ----------------------------------------------------------------


def build_project(tasks: Sequence[Task], stderr: TextIO, store: Any = None) -> Any:
    """The project facts of the run's Python files (None when they cannot be built).
    Every worker process gets the same facts; a call record is solved where it is
    first needed, and is the same value in whichever process solves it. ``store``:
    the disk cache their summaries and calls into other files are kept in."""
    from .project import ProjectIndex

    settings = {t.path: t.settings for t in tasks if t.path.endswith(".py")}
    try:
        index = ProjectIndex.from_paths(list(settings), settings.__getitem__)
        index.store = store
        return index.facts()
    except Exception as exc:  # per-file analysis still works without it
        print(f"torchmode: warning: cross-file index unavailable ({type(exc).__name__}: {exc})",
              file=stderr)
        return None


class _Progress:
    """``checked 120/3800`` on a terminal's stderr, redrawn at most 10 times a second."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.done = 0
        self.last = 0.0

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= 0.1 or self.done == self.total:
            self.last = now
            self.stream.write(f"\rtorchmode: checked {self.done}/{self.total} files")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def run_tasks(tasks: Sequence[Task], jobs: int, project: Any,
              progress: _Progress, store: Any = None) -> list[FileReport]:
    """Reports in the order of ``tasks`` (so output does not depend on ``--jobs``)."""
    reports: list[FileReport] = []
    if jobs <= 1 or len(tasks) < 2 * jobs:
        _init_worker(project, store)
        for task in tasks:
            reports.append(run_task(task))
            progress.step()
        return reports
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunk = max(1, min(64, len(tasks) // (jobs * 8)))
    try:
        with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                 initargs=(project, store)) as pool:
            for report in pool.map(run_task, tasks, chunksize=chunk):
                reports.append(report)
                progress.step()
    except BrokenProcessPool:  # a process died (a crash in native code): say which files
        for task in tasks[len(reports):]:
            reports.append(FileReport(task.path, error="not checked: a checking process "
                                      "crashed (run again with --jobs 1 to find the file)"))
    return reports


# --- commands ------------------------------------------------------------------------


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _use_color(stream: TextIO) -> bool:
    """Colors on a terminal only, and never when NO_COLOR is set (no-color.org)."""
    return not os.environ.get("NO_COLOR") and _isatty(stream)


def cmd_check(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from .output import summarize, write_report, write_statistics

    try:
        select = split_codes(args.select)
        ignore = split_codes(args.ignore)
        files, missing = discover(args.paths or ["."], select, ignore)
    except ConfigError as exc:
        print(f"torchmode: error: {exc}", file=stderr)
        return 2
    fixing = args.fix or args.diff
    if fixing:
        try:
            import torchmode.fixes  # noqa: F401  (fail early, not once per file)
        except ImportError as exc:
            print(f"torchmode: error: fixes are unavailable ({exc})", file=stderr)
            return 2
    tasks = [Task(path, replace(settings, show_hints=True) if args.show_hints else settings,
                  fix=args.fix, diff=args.diff, unsafe=args.unsafe_fixes)
             for path, settings in files]
    store = _disk_cache(args)
    project = build_project(tasks, stderr, store)
    progress = _Progress(len(tasks), stderr,
                         enabled=len(tasks) >= PROGRESS_MIN_FILES and _isatty(stderr))
    try:
        reports = run_tasks(tasks, _jobs(args.jobs), project, progress, store)
    finally:
        progress.close()
    reports = missing + reports
    red = _use_color(stderr)
    for report in reports:
        if report.error:
            label = "\x1b[1;31merror\x1b[0m" if red else "error"
            print(f"{report.path}: {label}: {report.error}", file=stderr)
        for warning in report.warnings:
            label = "\x1b[1;33mwarning\x1b[0m" if red else "warning"
            print(f"{report.path}: {label}: {warning}", file=stderr)
        if report.note:
            print(f"{report.path}: note: {report.note}", file=stderr)
    summary = summarize(reports)
    if args.diff:
        for report in reports:
            if report.diff:
                stdout.write(report.diff)
        changed = sum(1 for r in reports if r.diff)
        fixed = sum(len(r.fixed) for r in reports)
        print(f"Would fix {fixed} finding{'s' if fixed != 1 else ''} in {changed} "
              f"file{'s' if changed != 1 else ''}; {summary.findings} would remain.", file=stderr)
        status = 1 if (changed or summary.findings) else 0
    else:
        write_report(args.format, reports, stdout, color=_use_color(stdout),
                     statistics=args.statistics and args.format == "text")
        if args.statistics and args.format != "text":
            write_statistics(summary, stderr)  # keep machine-readable stdout clean
        counted = sum(1 for r in reports for f in r.findings
                      if f.finding.severity is not Severity.HINT)
        status = 1 if counted and not args.exit_zero else 0
    if summary.errors:
        return 2
    return status


def _disk_cache(args: argparse.Namespace) -> Any:
    """The run's disk cache (``--cache-dir``, ``TORCHMODE_CACHE_DIR``, else beside
    ``pyproject.toml``), or None."""
    if args.no_cache:
        return None
    from .cache import DiskCache, default_cache_dir, engine_tag

    try:
        engine_tag()
    except OSError:  # torchmode's own files cannot be read: it cannot tell its entries
        return None
    return DiskCache(args.cache_dir or os.environ.get("TORCHMODE_CACHE_DIR")
                     or default_cache_dir())


def _jobs(value: int) -> int:
    return value if value > 0 else (os.cpu_count() or 1)


def cmd_rule(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from .rule_docs import rule_doc
    from .rules import RULES

    rules: dict[str, Any] = dict(RULES)
    if not args.all and not args.code:
        for code in ALL_CODES:
            rule = rules.get(code)
            name = getattr(rule, "name", "") or _doc_name(code)
            summary = getattr(rule, "summary", "")
            print(f"{code}  {name:<24} {summary}".rstrip(), file=stdout)
        return 0
    if args.all:
        codes: list[str] = list(ALL_CODES)
    else:
        wanted = args.code.strip()
        by_name = {getattr(rules.get(c), "name", "") or _doc_name(c): c for c in ALL_CODES}
        code = by_name.get(wanted.lower(), wanted.upper())
        if code not in ALL_CODES:
            known = ", ".join(ALL_CODES)
            print(f"torchmode: error: unknown rule {wanted!r} (known: {known})", file=stderr)
            return 2
        codes = [code]
    docs = []
    for code in codes:
        try:
            docs.append(rule_doc(code).rstrip("\n"))
        except ValueError as exc:  # a doc missing from a broken installation
            print(f"torchmode: error: {exc}", file=stderr)
            return 2
    print(("\n\n" + "-" * 72 + "\n\n").join(docs), file=stdout)
    return 0


def _doc_name(code: str) -> str:
    """The rule name from its doc title (``# TM001 missing-eval``) when the registry lacks it."""
    from .rule_docs import rule_title

    try:
        return rule_title(code).partition(" ")[2]
    except ValueError:
        return ""


def cmd_server(argv: list[str], stderr: TextIO) -> int:
    try:
        from .lsp.server import main as server_main
    except ImportError as exc:
        print(f"torchmode: error: the language server is unavailable ({exc})", file=stderr)
        return 2
    try:
        result = server_main(argv)
    except SystemExit as exc:  # its own --help / usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return int(result) if isinstance(result, int) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchmode",
        description="Find PyTorch train/eval and grad-mode mistakes.",
    )
    parser.add_argument("--version", action="version", version=f"torchmode {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser(
        "check", help="check files and folders", description="Check Python files and notebooks.",
        epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: .)")
    check.add_argument("--select", action="append", metavar="CODES",
                       help="only these codes or prefixes, comma-separated (replaces the config's)")
    check.add_argument("--ignore", action="append", metavar="CODES",
                       help="skip these codes or prefixes, comma-separated (adds to the config's)")
    check.add_argument("--format", choices=FORMATS, default="text", help="output format")
    check.add_argument("--exit-zero", action="store_true",
                       help="exit 0 even when there are findings")
    check.add_argument("--jobs", "-j", type=_positive_or_zero, default=1, metavar="N",
                       help="worker processes (0: one per CPU; default 1)")
    check.add_argument("--statistics", action="store_true", help="count findings per code")
    check.add_argument("--show-hints", action="store_true",
                       help="also print hint-severity findings (never counted for the exit status)")
    check.add_argument("--fix", action="store_true", help="apply safe fixes to the files")
    check.add_argument("--unsafe-fixes", action="store_true",
                       help="with --fix or --diff, also apply unsafe fixes")
    check.add_argument("--diff", action="store_true",
                       help="print the fixes as a unified diff instead of writing files")
    check.add_argument("--no-cache", action="store_true",
                       help="neither read nor write the cache of earlier runs")
    check.add_argument("--cache-dir", metavar="DIR",
                       help="where to keep the cache (default: $TORCHMODE_CACHE_DIR, else "
                       ".torchmode_cache beside the pyproject.toml of the current folder "
                       "or above, else in the current folder)")

    rule = sub.add_parser("rule", help="show a rule's documentation",
                          description="Show a rule's documentation (no argument: list the rules).")
    rule.add_argument("code", nargs="?", help="rule code or name, e.g. TM001 or missing-eval")
    rule.add_argument("--all", action="store_true", help="every rule's documentation")

    sub.add_parser("server", help="run the language server (stdio; --tcp HOST:PORT)",
                   add_help=False)
    return parser


def _positive_or_zero(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and ``python -m torchmode``; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    stdout, stderr = sys.stdout, sys.stderr
    if args_list and args_list[0] == "server":
        return cmd_server(args_list[1:], stderr)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if args.command == "check":
            return cmd_check(args, stdout, stderr)
        if args.command == "rule":
            return cmd_rule(args, stdout, stderr)
        parser.print_help(stderr)
        return 2
    except BrokenPipeError:  # `torchmode check | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
