"""Real-code sweep for TM008 and TM009: every finding with its source line.

Runs the two rules over folders (default: the installed transformers, timm,
pytorch_lightning, accelerate and torch sources) with the whole engine, as
``torchmode check --select TM008,TM009`` would, but analyses only the files
whose text can hold a finding (a functional op with a ``training`` argument,
or a ``.train(`` call: the freeze may be in a model class of another file), so
a library of thousands of files takes minutes. Each folder is one project
(cross-file classes resolve). Prints one line per finding, for judging by
hand, and the totals:

    .venv/bin/python benchmarks/sweep_mode_rules.py /work/corpus
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from torchmode.analyzer import analyze
from torchmode.project import ProjectIndex
from torchmode.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweep import default_corpus  # noqa: E402

_TM008_TEXT = re.compile(r"dropout|rrelu|batch_norm")
SETTINGS = Settings(select=("TM008", "TM009"))


def candidates(root: Path) -> list[Path]:
    """Files that may hold a TM008/TM009 finding (the others cannot)."""
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    out = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _TM008_TEXT.search(text) or ".train(" in text:
            out.append(path)
    return out


def sweep(root: Path) -> list[tuple[str, int, str, str]]:
    files = candidates(root)
    project = ProjectIndex.from_paths([str(p) for p in
                                       ([root] if root.is_file() else root.rglob("*.py"))])
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        result = analyze(text, str(path), SETTINGS, project)
        lines = text.splitlines()
        for finding in result.findings:
            line = finding.range.start.line
            found.append((str(path), line + 1, finding.code, lines[line].strip()))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="folders (default: installed libraries)")
    args = parser.parse_args(argv)
    roots = [Path(p) for p in args.paths] or default_corpus()
    total: dict[str, int] = {}
    for root in roots:
        started = time.perf_counter()
        found = sweep(root)
        for path, line, code, source in found:
            print(f"{path}:{line}: {code}  {source}")
            total[code] = total.get(code, 0) + 1
        print(f"# {root}: {len(found)} findings in {time.perf_counter() - started:.1f}s",
              file=sys.stderr)
    print(f"# total: {total or 'no findings'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
