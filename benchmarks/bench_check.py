"""Speed and memory of the engine and of ``torchmode check`` (a benchmark, not a test).

In one run, on the corpus of ``sweep.py`` (installed transformers, timm,
pytorch_lightning, accelerate, torch/nn; else examples/):

1. ``ast.parse`` of every file and ``analyze()`` of the same files, one core,
   in this process: both totals, the ratio, per-file ratio percentiles; the
   cross-file index build time and ``analyze()`` with that index (as ``check``
   runs it); this process's peak RSS.
2. Start-up: ``torchmode check`` on one tiny file vs ``python -c pass``.
3. Whole process: ``torchmode check`` over the corpus (``--jobs 1``), wall time
   and peak RSS of that child alone.
4. TorchFix, whole process, one job, on the same files, beside ``torchmode
   check`` on exactly those files. TorchFix pins an older libcst than torchmode,
   so it lives in its own environment::

       python3 -m venv /tmp/tfvenv
       /tmp/tfvenv/bin/pip install -c benchmarks/corpus-constraints.txt torchfix==0.7.0
       .venv/bin/python benchmarks/bench_check.py --torchfix /tmp/tfvenv/bin/torchfix

   TorchFix is slow (about 200x ``ast.parse``), so by default it runs on a
   deterministic sample of the corpus (``--torchfix-files``; 0 = all files).
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import corpus_files, count_lines, default_corpus  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def engine_vs_parse(files: list[str], project: Any) -> dict[str, float]:
    """Time ``ast.parse`` and ``analyze()`` per file, without and with the cross-file
    index (what ``torchmode check`` runs); texts are read first, outside the timing."""
    from torchmode.analyzer import analyze
    from torchmode.settings import DEFAULT_SETTINGS

    parse_total = alone_total = with_total = 0.0
    ratios: list[float] = []
    big_ratios: list[float] = []
    with_ratios: list[float] = []
    crashes = 0
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            continue
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(text, filename=path)
        except (SyntaxError, ValueError, RecursionError):
            pass
        parse_time = time.perf_counter() - start
        times = []
        for index in (None, project):
            start = time.perf_counter()
            result = analyze(text, path, DEFAULT_SETTINGS, index)
            times.append(time.perf_counter() - start)
            if index is None and (result.syntax_error or "").startswith("internal error"):
                crashes += 1
                print(f"  {path}: {result.syntax_error}", file=sys.stderr)
        parse_total += parse_time
        alone_total += times[0]
        with_total += times[1]
        if parse_time > 0:
            ratios.append(times[0] / parse_time)
            with_ratios.append(times[1] / parse_time)
            if parse_time >= 0.001:  # files of a few hundred lines and more: less timer noise
                big_ratios.append(times[0] / parse_time)
    return {
        "parse_total": parse_total,
        "analyze_total": alone_total,
        "with_total": with_total,
        "ratio": alone_total / parse_total if parse_total else float("nan"),
        "with_ratio": with_total / parse_total if parse_total else float("nan"),
        "p50": percentile(ratios, 50),
        "p90": percentile(ratios, 90),
        "p99": percentile(ratios, 99),
        "max": max(ratios, default=float("nan")),
        "with_p50": percentile(with_ratios, 50),
        "with_p90": percentile(with_ratios, 90),
        "big_p50": percentile(big_ratios, 50),
        "big_p90": percentile(big_ratios, 90),
        "big_n": len(big_ratios),
        "crashes": crashes,
    }


def index_build(files: list[str]) -> tuple[Any, float]:
    """The cross-file index over ``files`` and the seconds it took to build."""
    from torchmode.project import ProjectIndex

    start = time.perf_counter()
    project = ProjectIndex.from_paths(files)
    return project, time.perf_counter() - start


_PYCACHE = tempfile.mkdtemp(prefix="torchmode-bench-pycache-")


def child_env() -> dict[str, str]:
    """Children run as an installed tool would: with bytecode caches (an installed
    package has its .pyc files; PYTHONDONTWRITEBYTECODE would recompile every
    module on every start). The cache goes to a temporary folder, not the tree."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env


def timed_child(command: list[str], cwd: Path | None = None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in MB of that child alone, exit status); output discarded."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(command, cwd=cwd, stdout=devnull, stderr=devnull,
                                env=child_env())
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss // 1024, proc.returncode


def startup(runs: int) -> tuple[float, float]:
    """Median wall time of ``torchmode check tiny.py`` and of ``python -c pass``."""
    with tempfile.TemporaryDirectory() as folder:
        tiny = Path(folder) / "tiny.py"
        tiny.write_text("import torch\n\nmodel = torch.nn.Linear(2, 2)\nmodel.eval()\n")
        check = [sys.executable, "-m", "torchmode", "check", str(tiny)]
        bare = [sys.executable, "-c", "pass"]
        timed_child(check)  # warm the OS caches
        check_times = [timed_child(check)[0] for _ in range(runs)]
        bare_times = [timed_child(bare)[0] for _ in range(runs)]
    return statistics.median(check_times), statistics.median(bare_times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="torchmode check speed and memory")
    parser.add_argument("paths", nargs="*", help="corpus (default: installed libraries)")
    parser.add_argument("--torchfix", default=shutil.which("torchfix"),
                        help="torchfix executable (its own venv; see the module docstring)")
    parser.add_argument("--torchfix-files", type=int, default=400,
                        help="files for the TorchFix comparison (0 = the whole corpus)")
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument("--skip-whole", action="store_true", help="skip the whole-corpus child")
    args = parser.parse_args(argv)

    roots = [Path(p) for p in args.paths] if args.paths else default_corpus()
    files = corpus_files(roots)
    lines = count_lines(files)
    print(f"corpus: {len(files)} files, {lines} lines")
    for root in roots:
        print(f"  {root}")

    project, build = index_build(files)
    result = engine_vs_parse(files, project)
    print("\n1. engine vs ast.parse (one core, this process)")
    print(f"  ast.parse total  {result['parse_total']:8.2f} s")
    print(f"  analyze() total  {result['analyze_total']:8.2f} s   (parse included, no index)")
    print(f"  ratio            {result['ratio']:8.2f} x   (target <= 5x)")
    print(f"  per-file ratio   p50 {result['p50']:.2f}  p90 {result['p90']:.2f}  "
          f"p99 {result['p99']:.2f}  max {result['max']:.2f}")
    print(f"  files >= 1 ms to parse ({result['big_n']}): p50 {result['big_p50']:.2f}  "
          f"p90 {result['big_p90']:.2f}")
    print(f"  cross-file index build: {build:.2f} s "
          f"({build / result['parse_total']:.2f}x ast.parse)")
    print(f"  analyze() with the index (as check runs it): {result['with_total']:.2f} s, "
          f"ratio {result['with_ratio']:.2f}x, per-file p50 {result['with_p50']:.2f} "
          f"p90 {result['with_p90']:.2f}")
    print(f"  internal errors: {result['crashes']}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"  peak RSS of this process: {rss} MB")

    check_time, bare_time = startup(args.startup_runs)
    print("\n2. start-up (median of", args.startup_runs, "runs)")
    print(f"  python -c pass                  {bare_time * 1000:7.1f} ms")
    print(f"  torchmode check tiny.py          {check_time * 1000:7.1f} ms   "
          f"(+{(check_time - bare_time) * 1000:.1f} ms; target < 150 ms)")

    if not args.skip_whole:
        command = [sys.executable, "-m", "torchmode", "check", "--exit-zero", "--jobs", "1",
                   *map(str, roots)]
        wall, peak, status = timed_child(command)
        print("\n3. whole process: torchmode check over the corpus (--jobs 1)")
        print(f"  {wall:.1f} s, peak RSS {peak} MB (target < 250 MB), exit status {status}")

    if not args.torchfix:
        print("\n4. TorchFix: not found (pass --torchfix PATH; see the module docstring)")
        return 0
    chosen = files
    if args.torchfix_files and args.torchfix_files < len(files):
        chosen = sorted(random.Random(0).sample(files, args.torchfix_files))
    chosen_lines = count_lines(chosen)
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder)
        warm = listing / "warm.py"
        warm.write_text("import torch\n")
        timed_child([args.torchfix, "--jobs", "1", str(warm)])  # fills its bytecode cache
        tm_time, tm_rss, _ = timed_child(
            [sys.executable, "-m", "torchmode", "check", "--exit-zero", "--jobs", "1", *chosen],
            cwd=listing)
        tf_time, tf_rss, tf_status = timed_child([args.torchfix, "--jobs", "1", *chosen],
                                                 cwd=listing)
    print(f"\n4. TorchFix vs torchmode check, whole processes, one job, same "
          f"{len(chosen)} files ({chosen_lines} lines)")
    print(f"  torchmode check  {tm_time:8.2f} s   peak RSS {tm_rss} MB")
    print(f"  torchfix         {tf_time:8.2f} s   peak RSS {tf_rss} MB   (exit {tf_status})")
    print(f"  torchmode is {tf_time / tm_time:.1f}x faster (target >= 30x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
