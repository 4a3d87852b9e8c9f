"""Real-code sweep: run ``torchmode check`` over installed library sources.

Installs nothing. The default corpus is the installed sources of transformers,
timm, pytorch_lightning (or lightning), accelerate and torch/nn in the running
interpreter's environment; when none is installed it falls back to examples/.
Install the corpus beside the CPU torch with:

    .venv/bin/pip install -c benchmarks/corpus-constraints.txt -r benchmarks/corpus-requirements.txt

Reports files, lines, files that could not be analysed (crashes = internal
errors, must be 0), findings per code, and a random sample of findings with
their context for judging by hand:

    .venv/bin/python benchmarks/sweep.py --sample 30 --seed 1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS_PACKAGES = ("transformers", "timm", "pytorch_lightning", "accelerate")


def package_dir(name: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_corpus() -> list[Path]:
    """Installed library sources, or examples/ when none is installed."""
    roots: list[Path] = []
    for name in CORPUS_PACKAGES:
        found = package_dir(name)
        if found is None and name == "pytorch_lightning":
            found = package_dir("lightning")
        if found is not None:
            roots.append(found)
    torch_dir = package_dir("torch")
    if torch_dir is not None and (torch_dir / "nn").is_dir():
        roots.append(torch_dir / "nn")
    if not roots:
        roots.append(REPO / "examples")
    return roots


def corpus_files(roots: list[Path]) -> list[str]:
    """The files ``torchmode check`` would analyse for these roots (same discovery)."""
    from torchmode.cli import discover

    files, _ = discover([str(r) for r in roots], None, None)
    return [path for path, _settings in files]


def count_lines(files: list[str]) -> int:
    total = 0
    for path in files:
        try:
            with open(path, "rb") as handle:
                total += handle.read().count(b"\n")
        except OSError:
            pass
    return total


@dataclass
class CheckRun:
    findings: list[dict]
    errors: list[str]
    seconds: float
    status: int
    peak_rss_mb: int


def run_check(roots: list[Path], jobs: int) -> CheckRun:
    """One whole-process ``torchmode check --format json`` over ``roots``: its findings,
    error lines, wall time, exit status and the peak RSS of that child alone."""
    command = [sys.executable, "-m", "torchmode", "check", "--format", "json", "--exit-zero",
               "--jobs", str(jobs), *map(str, roots)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, wait_status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    try:
        findings = json.loads(stdout) if stdout.strip() else []
    except json.JSONDecodeError:
        findings = []
        print("torchmode check printed no valid JSON:\n" + stdout[-2000:], file=sys.stderr)
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    if "Traceback" in stderr:
        errors.append("TRACEBACK in stderr:\n" + stderr[-4000:])
    return CheckRun(findings, errors, elapsed, proc.returncode, usage.ru_maxrss // 1024)


def context(path: str, line: int, radius: int = 3, cell: int | None = None) -> str:
    """Lines around 0-based ``line`` (of 1-based ``cell`` in a notebook), numbered,
    the reported one marked with ``>``."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        if cell is not None:
            source = json.loads(text)["cells"][cell - 1]["source"]
            text = "".join(source) if isinstance(source, list) else source
        lines = text.splitlines()
    except (OSError, ValueError, KeyError, IndexError):
        return "    (cannot read)"
    out = []
    for index in range(max(0, line - radius), min(len(lines), line + radius + 1)):
        mark = ">" if index == line else " "
        out.append(f"  {mark}{index + 1:6d} | {lines[index]}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="corpus folders/files (default: installed libs)")
    parser.add_argument("--sample", type=int, default=25, help="findings to show with context")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json-out", help="write the full findings list here")
    args = parser.parse_args(argv)

    roots = [Path(p) for p in args.paths] if args.paths else default_corpus()
    files = corpus_files(roots)
    lines = count_lines(files)
    print("corpus:")
    for root in roots:
        print(f"  {root}")
    print(f"files: {len(files)}  lines: {lines}")

    run = run_check(roots, args.jobs)
    findings, errors = run.findings, run.errors
    crashes = [e for e in errors if "internal error" in e or "Traceback" in e
               or "recursion" in e or "out of memory" in e]
    print(f"torchmode check: {run.seconds:.1f} s (jobs={args.jobs}), peak RSS "
          f"{run.peak_rss_mb} MB, exit status {run.status}")
    print(f"files not analysed: {len(errors)}  crashes (internal errors): {len(crashes)}")
    for error in errors[:20]:
        print(f"  {error}")
    by_code = Counter(f["code"] for f in findings)
    by_severity = Counter((f["code"], f["severity"]) for f in findings)
    files_with = len({f["path"] for f in findings})
    print(f"findings: {len(findings)} in {files_with} files")
    for code, count in sorted(by_code.items()):
        severities = ", ".join(f"{sev} {n}" for (c, sev), n in sorted(by_severity.items())
                               if c == code)
        print(f"  {code} {findings_name(findings, code):<24} {count:6d}  ({severities})")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(findings, indent=1))
    if findings and args.sample:
        rng = random.Random(args.seed)
        sample = rng.sample(findings, min(args.sample, len(findings)))
        print(f"\nrandom sample of {len(sample)} findings (seed {args.seed}):")
        for number, item in enumerate(sample, 1):
            start = item["range"]["start"]
            cell = item.get("cell")
            where = f"cell {cell}:" if cell is not None else ""
            print(f"\n[{number}] {item['path']}:{where}{start['line'] + 1}:"
                  f"{start['character'] + 1} {item['code']} [{item['name']}] "
                  f"({item['severity']})\n    {item['message']}")
            print(context(item["path"], start["line"], cell=cell))
    return 1 if crashes else 0


def findings_name(findings: list[dict], code: str) -> str:
    return next((f["name"] for f in findings if f["code"] == code), "")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
