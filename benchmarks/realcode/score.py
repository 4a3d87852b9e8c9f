"""Score torchmode on the labelled real-code set: precision, recall, time.

Runs ``torchmode check`` (the same discovery, cross-file index and per-file
analysis as the CLI, one whole-repository run per repository) over a corpus
folder holding the repositories of ``repos.toml`` (see ``fetch.py``), then
compares the findings with ``labels.toml``:

- every finding of a run is labelled ``true`` (a real mode bug), ``false`` (a
  wrong finding) or ``hint`` (right about the code but without effect: a model
  with no mode-dependent layer), with a one-line reason;
- ``[[miss]]`` entries are real bugs torchmode should report (path, line range,
  code); ``[[read]]`` entries are functions read by hand and found correct.

Printed: findings per rule; precision strict (true / all) and with no-effect
hints counted separately (true / (true + false)); recall (labelled bugs
reported / all labelled bugs: the ``true`` findings plus the misses); the
remaining false findings and misses; unlabelled findings (to judge); and the
time per file (max) and in total.

    .venv/bin/python benchmarks/realcode/score.py --corpus /work/corpus
    .venv/bin/python benchmarks/realcode/score.py --corpus /work/corpus --context 3

Hint-severity findings (shown by the CLI only with ``--show-hints``) are scored
in their own column: they are not what a user sees by default.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
CODES = ("TM001", "TM002", "TM003", "TM004", "TM005", "TM006", "TM007", "TM008", "TM009")


@dataclass(frozen=True)
class Seen:
    """One finding of the run, keyed the way labels name it."""

    path: str  # relative to the corpus root: <owner+name>/...
    code: str
    where: str  # "12" or "cell 4:12" (1-based)
    hint: bool
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.code, self.where)


@dataclass(frozen=True)
class Miss:
    path: str
    code: str
    first: int
    last: int
    cell: int | None
    reason: str

    def matched_by(self, seen: Seen) -> bool:
        if seen.path != self.path or seen.code != self.code or seen.hint:
            return False
        cell, line = _split_where(seen.where)
        return cell == self.cell and self.first <= line <= self.last


def _split_where(where: str) -> tuple[int | None, int]:
    if where.startswith("cell "):
        cell, line = where[5:].split(":")
        return int(cell), int(line)
    return None, int(where)


def _parse_lines(text: str) -> tuple[int | None, int, int]:
    """``"40"``, ``"40-52"``, ``"cell 7:3"`` or ``"cell 7:3-9"`` -> (cell, first, last)."""
    cell = None
    if text.startswith("cell "):
        head, text = text[5:].split(":")
        cell = int(head)
    first, _, last = text.partition("-")
    return cell, int(first), int(last or first)


def load_labels(path: Path) -> tuple[dict[tuple[str, str, str], dict[str, str]], list[Miss], int]:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    labels = {(f["path"], f["code"], str(f["line"])): f for f in data.get("finding", [])}
    misses = []
    for m in data.get("miss", []):
        cell, first, last = _parse_lines(str(m["line"]))
        misses.append(Miss(m["path"], m["code"], first, last, cell, m["reason"]))
    return labels, misses, len(data.get("read", []))


def run_repo(root: Path, corpus: Path) -> tuple[list[Seen], list[tuple[str, float]], list[str]]:
    """One whole-repository run: findings, (file, seconds) per file, error lines."""
    from torchmode import check_file, cli

    files, _missing = cli.discover([str(root)], None, None)
    tasks = [cli.Task(path, replace(settings, show_hints=True)) for path, settings in files]
    started = time.perf_counter()
    project = cli.build_project(tasks, io.StringIO())
    index_time = time.perf_counter() - started
    check_file.init_worker(project)
    seen: list[Seen] = []
    times: list[tuple[str, float]] = [(f"{root.name} (cross-file index)", index_time)]
    errors: list[str] = []
    for task in tasks:
        started = time.perf_counter()
        report = cli.run_task(task)
        times.append((task.path, time.perf_counter() - started))
        rel = str(Path(task.path).resolve().relative_to(corpus.resolve()))
        if report.error:
            errors.append(f"{rel}: {report.error}")
        for item in report.findings:
            loc = item.location
            where = f"cell {loc.cell}:{loc.line}" if loc.cell is not None else str(loc.line)
            hint = item.finding.severity.name.lower() == "hint"
            seen.append(Seen(rel, item.finding.code, where, hint, item.finding.message))
    return seen, times, errors


def saved_run(folder: Path) -> list[Seen]:
    """Findings of an earlier run saved as ``<owner+name>.json`` files (``torchmode check
    <repo> --format json``), to score a baseline with the same labels."""
    seen: list[Seen] = []
    for path in sorted(folder.glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            line = item["range"]["start"]["line"] + 1
            where = f"cell {item['cell']}:{line}" if item.get("cell") else str(line)
            seen.append(Seen(item["path"], item["code"], where, item["severity"] == "hint",
                             item["message"]))
    return seen


def repo_folders(corpus: Path) -> list[Path]:
    with open(HERE / "repos.toml", "rb") as handle:
        folders = [r["folder"] for r in tomllib.load(handle)["repo"]]
    return [corpus / f for f in folders if (corpus / f).is_dir()]


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.3f}" if den else "  -  "


def verdict(seen: Seen, labels: dict[Any, dict[str, str]], misses: list[Miss]) -> str:
    """The label of a finding; one that finds a listed miss is true; "?" when unlabelled."""
    if seen.key in labels:
        return labels[seen.key]["verdict"]
    if any(m.matched_by(seen) for m in misses):
        return "true"
    return "?"


def print_table(seen: list[Seen], labels: dict[Any, dict[str, str]], misses: list[Miss],
                out: Any) -> None:
    shown = [s for s in seen if not s.hint]
    print(f"{'rule':6} {'found':>5} {'true':>5} {'false':>5} {'hint':>5} {'unlab':>5} "
          f"{'strict':>7} {'w/o hints':>9}   (+hint severity)", file=out)
    for code in (*CODES, "all"):
        rows = [s for s in shown if code in ("all", s.code)]
        hinted = [s for s in seen if s.hint and code in ("all", s.code)]
        if not rows and not hinted:
            continue
        verdicts = Counter(verdict(s, labels, misses) for s in rows)
        t, f, h, u = verdicts["true"], verdicts["false"], verdicts["hint"], verdicts["?"]
        print(f"{code:6} {len(rows):5} {t:5} {f:5} {h:5} {u:5} {_ratio(t, t + f + h):>7} "
              f"{_ratio(t, t + f):>9}   (+{len(hinted)})", file=out)


def _context(corpus: Path, seen: Seen, lines: int) -> str:
    if lines <= 0:
        return ""
    raw = (corpus / seen.path).read_text(encoding="utf-8", errors="replace")
    cell, line = _split_where(seen.where)
    if cell is not None:  # 1-based cell number among all cells, as Jupyter shows it
        source = json.loads(raw)["cells"][cell - 1]["source"]
        raw = "".join(source) if isinstance(source, list) else source
    text = raw.splitlines()
    at = line - 1
    rows = range(max(0, at - lines), min(len(text), at + lines + 1))
    return "\n".join(f"      {'>' if i == at else ' '}{i + 1:5} {text[i]}" for i in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--saved", type=Path,
                        help="score the saved json run in this folder instead of running")
    parser.add_argument("--labels", type=Path, default=HERE / "labels.toml")
    parser.add_argument("--context", type=int, default=0, help="source lines around new findings")
    args = parser.parse_args(argv)
    labels, misses, read = load_labels(args.labels)
    seen: list[Seen] = []
    times: list[tuple[str, float]] = []
    errors: list[str] = []
    if args.saved is not None:
        seen = saved_run(args.saved)
    else:
        for root in repo_folders(args.corpus):
            found, took, failed = run_repo(root, args.corpus)
            seen += found
            times += took
            errors += failed
    out = sys.stdout
    print_table(seen, labels, misses, out)
    true_keys = {k for k, v in labels.items() if v["verdict"] == "true"}
    reported = {s.key for s in seen if not s.hint}
    found_misses = [m for m in misses if any(m.matched_by(s) for s in seen)]
    bugs = len(true_keys) + len(misses)
    hits = len(true_keys & reported) + len(found_misses)
    print(f"\nrecall {_ratio(hits, bugs)} ({hits} of {bugs} labelled bugs: "
          f"{len(true_keys & reported)}/{len(true_keys)} labelled findings, "
          f"{len(found_misses)}/{len(misses)} misses; {read} functions read and correct)", file=out)
    print("\nremaining false findings:", file=out)
    for s in seen:
        if not s.hint and labels.get(s.key, {}).get("verdict") == "false":
            print(f"  {s.path}:{s.where} {s.code}: {labels[s.key]['reason']}", file=out)
    print("\nremaining misses:", file=out)
    for m in misses:
        if m not in found_misses:
            where = f"cell {m.cell}:{m.first}" if m.cell else str(m.first)
            print(f"  {m.path}:{where} {m.code}: {m.reason}", file=out)
    lost = sorted(true_keys - reported)
    if lost:
        print("\nlabelled true findings no longer reported:", file=out)
        for path, code, where in lost:
            print(f"  {path}:{where} {code}", file=out)
    unlabelled = [s for s in seen if verdict(s, labels, misses) == "?"]
    if unlabelled:
        print(f"\nunlabelled findings ({len(unlabelled)}):", file=out)
        for s in unlabelled:
            print(f"  {s.path}:{s.where} {s.code}{' (hint)' if s.hint else ''}: {s.message}",
                  file=out)
            if args.context:
                print(_context(args.corpus, s, args.context), file=out)
    if errors:
        print(f"\nfiles not analysed ({len(errors)}):", file=out)
        for line in errors:
            print(f"  {line}", file=out)
    slowest = max(times, key=lambda t: t[1]) if times else ("-", 0.0)
    total = sum(t for _, t in times)
    files = sum(1 for name, _ in times if not name.endswith("(cross-file index)"))
    print(f"\ntime: {files} files, {total:.1f} s in total, max {slowest[1]:.2f} s "
          f"({slowest[0]})", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
