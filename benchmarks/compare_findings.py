"""Record the engine's findings over real code and compare two recordings.

An engine change that should keep every right answer is proven by recording the
findings before it, recording them after, and reading every difference::

    .venv/bin/python benchmarks/compare_findings.py record /tmp/before.json \\
        --installed --corpus /work/corpus
    ... change the engine ...
    .venv/bin/python benchmarks/compare_findings.py record /tmp/after.json \\
        --installed --corpus /work/corpus
    .venv/bin/python benchmarks/compare_findings.py compare /tmp/before.json /tmp/after.json

``record`` runs ``torchmode check --format json`` (the engine of whichever
``torchmode`` the running interpreter imports; set ``PYTHONPATH`` to record
another tree) once per project root and keeps, per root, every finding (code,
path relative to the root, range, message) and every file error. The roots are
each fixture file and fixture folder, each truth program, ``examples/``, the
installed library sources of ``sweep.py`` with ``--installed``, and each
folder under each ``--corpus`` directory (one project per
training-code repository). Nothing here is needed by the tests: the corpus
roots are arguments, never assumed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

Snapshot = dict[str, dict[str, Any]]   # root label -> {"findings": [...], "errors": [...]}


def repo_roots() -> list[tuple[str, Path]]:
    """The repository's own code: each fixture, each truth program, the examples."""
    roots: list[tuple[str, Path]] = []
    fixtures = REPO / "tests" / "fixtures" / "rules"
    for entry in sorted(fixtures.iterdir()):
        if entry.suffix in (".py", ".ipynb") or (entry.is_dir() and entry.name != "__pycache__"):
            roots.append((f"fixtures/{entry.name}", entry))
    programs = REPO / "tests" / "truth" / "programs"
    for entry in sorted(programs.glob("*.py")):
        roots.append((f"truth/{entry.name}", entry))
    roots.append(("examples", REPO / "examples"))
    return roots


def installed_roots() -> list[tuple[str, Path]]:
    from sweep import default_corpus

    return [(f"installed/{root.name}", root) for root in default_corpus()
            if root != REPO / "examples"]


def corpus_roots(dirs: Iterable[str]) -> list[tuple[str, Path]]:
    roots: list[tuple[str, Path]] = []
    for directory in dirs:
        for entry in sorted(Path(directory).iterdir()):
            if entry.is_dir():
                roots.append((f"corpus/{entry.name}", entry))
    return roots


def check_root(root: Path, jobs: int) -> dict[str, Any]:
    """Findings and file errors of ``torchmode check`` on one project root."""
    command = [sys.executable, "-m", "torchmode", "check", str(root), "--format", "json",
               "--exit-zero", "--jobs", str(jobs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    base = str(root.parent if root.is_file() else root)
    findings = []
    for item in json.loads(done.stdout or "[]"):
        rng = item["range"]
        findings.append({
            "code": item["code"],
            "path": os.path.relpath(item["path"], base),
            "range": [rng["start"]["line"], rng["start"]["character"],
                      rng["end"]["line"], rng["end"]["character"]],
            "message": item["message"],
        })
    findings.sort(key=lambda f: (f["path"], f["range"], f["code"], f["message"]))
    errors = sorted(line.replace(base + os.sep, "") for line in done.stderr.splitlines()
                    if ": error" in line)
    return {"findings": findings, "errors": errors, "status": done.returncode}


def record(out: str, installed: bool, dirs: list[str], jobs: int) -> None:
    roots = repo_roots() + (installed_roots() if installed else []) + corpus_roots(dirs)
    snapshot: Snapshot = {}
    started = time.perf_counter()
    for label, root in roots:
        snapshot[label] = check_root(root, jobs)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(snapshot, handle, indent=1, sort_keys=True)
        handle.write("\n")
    total = sum(len(v["findings"]) for v in snapshot.values())
    errors = sum(len(v["errors"]) for v in snapshot.values())
    print(f"{len(snapshot)} roots, {total} findings, {errors} file errors, "
          f"{time.perf_counter() - started:.1f} s -> {out}")


def _key(finding: dict[str, Any]) -> str:
    start_line, start_col, end_line, end_col = finding["range"]
    return (f"{finding['path']}:{start_line + 1}:{start_col + 1}-{end_line + 1}:{end_col + 1} "
            f"{finding['code']} {finding['message']}")


def compare(old_path: str, new_path: str) -> int:
    """Print every finding and error present on one side only; exit 1 when any."""
    with open(old_path, encoding="utf-8") as handle:
        old: Snapshot = json.load(handle)
    with open(new_path, encoding="utf-8") as handle:
        new: Snapshot = json.load(handle)
    differences = 0
    for label in sorted(old.keys() | new.keys()):
        if label not in new or label not in old:
            print(f"{label}: only in {'old' if label in old else 'new'} snapshot")
            differences += 1
            continue
        for kind in ("findings", "errors"):
            if kind == "findings":
                before = {_key(f) for f in old[label][kind]}
                after = {_key(f) for f in new[label][kind]}
            else:
                before, after = set(old[label][kind]), set(new[label][kind])
            for item in sorted(before - after):
                print(f"- {label}: {item}")
            for item in sorted(after - before):
                print(f"+ {label}: {item}")
            differences += len(before ^ after)
    counts = [sum(len(s[label]["findings"]) for label in s) for s in (old, new)]
    print(f"old {counts[0]} findings, new {counts[1]} findings, {differences} differences")
    return 1 if differences else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="record the findings of the current engine")
    rec.add_argument("out", help="JSON snapshot to write")
    rec.add_argument("--corpus", action="append", default=[], metavar="DIR", dest="dirs",
                     help="a folder whose subfolders are extra project roots (repeatable)")
    rec.add_argument("--installed", action="store_true",
                     help="also the installed library sources (transformers, torch.nn, ...)")
    rec.add_argument("--jobs", type=int, default=1)
    cmp = sub.add_parser("compare", help="list every difference between two snapshots")
    cmp.add_argument("old")
    cmp.add_argument("new")
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.out, args.installed, args.dirs, args.jobs)
        return 0
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
