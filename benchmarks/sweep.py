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
import time
from collections import Counter
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


def run_check(roots: list[Path], jobs: int) -> tuple[list[dict], list[str], float, int]:
    """(findings, error lines, seconds, exit status) of one whole-process check."""
    command = [sys.executable, "-m", "torchmode", "check", "--format", "json", "--exit-zero",
               "--jobs", str(jobs), *map(str, roots)]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    try:
        findings = json.loads(proc.stdout) if proc.stdout.strip() else []
    except json.JSONDecodeError:
        findings = []
        print("torchmode check printed no valid JSON:\n" + proc.stdout[-2000:], file=sys.stderr)
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    if "Traceback" in proc.stderr:
        errors.append("TRACEBACK in stderr:\n" + proc.stderr[-4000:])
    return findings, errors, elapsed, proc.returncode


def context(path: str, line: int, radius: int = 3) -> str:
    """Lines around 0-based ``line``, numbered, the reported one marked with ``>``."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
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

    findings, errors, elapsed, status = run_check(roots, args.jobs)
    crashes = [e for e in errors if "internal error" in e or "Traceback" in e
               or "recursion" in e or "out of memory" in e]
    print(f"torchmode check: {elapsed:.1f} s (jobs={args.jobs}), exit status {status}")
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
            print(f"\n[{number}] {item['path']}:{start['line'] + 1}:{start['character'] + 1} "
                  f"{item['code']} [{item['name']}] ({item['severity']})\n    {item['message']}")
            print(context(item["path"], start["line"]))
    return 1 if crashes else 0


def findings_name(findings: list[dict], code: str) -> str:
    return next((f["name"] for f in findings if f["code"] == code), "")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "server"))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
