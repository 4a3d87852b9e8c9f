"""``torchmode check`` with its disk cache: cold, warm, and one file changed (a benchmark,
not a test).

On a copy of the corpus of ``sweep.py`` (installed transformers, timm,
pytorch_lightning, accelerate, torch/nn; package structure kept, so module paths
are the same), in one run, whole processes, ``--format json``:

1. without the cache (``--no-cache``), the reference output;
2. cold: an empty cache folder;
3. warm: nothing changed;
4. one file touched: a comment appended to one file;
5. one function edited: a line inserted at the top of a function of one file
   (its lines move, so its summary changes and the files that read it are checked);

and whether each output is byte-identical to the reference run on the same texts.
Each run is timed in wall seconds and in CPU seconds of the process (user + system:
on a shared machine, the figure that load changes least).

    .venv/bin/python benchmarks/bench_cache.py [--jobs N] [--touch REL_PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import default_corpus  # noqa: E402

TOUCHED = "timm/models/resnet.py"
EDITED = "transformers/models/bert/modeling_bert.py"


def copy_corpus(roots: list[Path], into: Path) -> list[Path]:
    """Each root copied under ``into`` with its parent packages' ``__init__.py``
    (``torch/nn`` keeps ``torch/__init__.py``), so module names do not change."""
    copied = []
    for root in roots:
        parts: list[str] = []
        parent = root.parent
        while (parent / "__init__.py").is_file():
            parts.insert(0, parent.name)
            parent = parent.parent
        target = into.joinpath(*parts, root.name)
        for i in range(len(parts)):
            init = into.joinpath(*parts[: i + 1], "__init__.py")
            init.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(parent.joinpath(*parts[: i + 1], "__init__.py"), init)
        shutil.copytree(root, target, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        copied.append(target)
    return copied


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(roots: list[Path], *extra: str) -> tuple[float, float, bytes]:
    """(wall seconds, CPU seconds, stdout) of one ``torchmode check``."""
    command = [sys.executable, "-m", "torchmode", "check", "--format", "json", "--exit-zero",
               *extra, *map(str, roots)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "server")}
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, capture_output=True, env=env, check=False, timeout=3600)
    return time.perf_counter() - start, _children_cpu() - cpu, done.stdout


def edit_function(path: Path) -> None:
    """Insert a statement at the top of the first function that has a body line."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^(    def \w+\(self[^\n]*\):\n)((        )\S)", text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"no method to edit in {path}")
    at = match.start(2)
    path.write_text(text[:at] + "        _unused = 0\n" + text[at:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default="1")
    parser.add_argument("--touch", default=TOUCHED)
    parser.add_argument("--edit", default=EDITED)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="torchmode-bench-cache-") as work:
        base = Path(work)
        roots = copy_corpus(default_corpus(), base / "src")
        files = sum(1 for r in roots for _ in r.rglob("*.py"))
        cache = ["--cache-dir", str(base / "cache"), "--jobs", args.jobs]
        print(f"corpus: {files} .py files; --jobs {args.jobs}")
        print(f"{'run':<40}{'seconds':>9}{'CPU s':>8}  output")

        def show(name: str, seconds: float, cpu: float, out: bytes, reference: bytes) -> None:
            same = "identical to --no-cache" if out == reference else "DIFFERENT from --no-cache"
            print(f"{name:<40}{seconds:>9.2f}{cpu:>8.2f}  {same}", flush=True)

        reference_s, reference_cpu, reference = run(roots, "--no-cache", "--jobs", args.jobs)
        print(f"{'--no-cache':<40}{reference_s:>9.2f}{reference_cpu:>8.2f}  reference", flush=True)
        show("cold (empty cache)", *run(roots, *cache), reference)
        show("warm (nothing changed)", *run(roots, *cache), reference)
        touched = base / "src" / args.touch
        touched.write_text(touched.read_text(encoding="utf-8") + "# touched\n", encoding="utf-8")
        result = run(roots, *cache)
        show(f"one file touched ({touched.name})", *result, run(roots, "--no-cache")[2])
        edited = base / "src" / args.edit
        edit_function(edited)
        result = run(roots, *cache)
        after_edit = run(roots, "--no-cache")[2]
        show(f"one function edited ({edited.name})", *result, after_edit)
        show("warm again", *run(roots, *cache), after_edit)


if __name__ == "__main__":
    main()
