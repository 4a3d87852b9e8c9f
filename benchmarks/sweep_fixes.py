"""Sweep of the quick fixes over real code: how many TM001/TM002/TM003 findings get a
fix, and does every listed fix keep its promise?

For each root (a repository of ``/work/corpus`` or an installed library), all its
Python files and notebooks are analysed with one cross-file index, as
``torchmode check <root>`` does. For every TM001/TM002/TM003 finding:

- the fixes ``offered_fixes`` lists (verified, complete, combined) are counted;
- the first listed fix is applied independently of the verifier (to this file and
  to the other files it edits) and checked: the result parses, re-analysis with
  every rule on and the fixed texts in the index no longer has the finding, and no
  finding appears in any edited file;
- a finding with no listed fix gets a reason (why the engine's fix was dropped).

    .venv/bin/python benchmarks/sweep_fixes.py [--corpus /work/corpus] [--libraries]
        [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import CORPUS_PACKAGES, package_dir  # noqa: E402
from torchmode.analyzer import analyze  # noqa: E402
from torchmode.findings import Finding  # noqa: E402
from torchmode.fixes import (  # noqa: E402
    apply_edits,
    completions,
    edits_for_fix,
    every_rule,
    offered_fixes,  # noqa: E402
)
from torchmode.fixes.candidates import Fix  # noqa: E402
from torchmode.fixes.overlay import project_with  # noqa: E402
from torchmode.fixes.textedit import PositionMap  # noqa: E402
from torchmode.notebook import NotebookText  # noqa: E402
from torchmode.project import ProjectIndex  # noqa: E402
from torchmode.settings import DEFAULT_SETTINGS  # noqa: E402

CODES = ("TM001", "TM002", "TM003")
EVERY = every_rule(DEFAULT_SETTINGS)


def roots(corpus: Path | None, libraries: bool) -> Iterator[tuple[str, Path]]:
    if corpus is not None:
        for repo in sorted(p for p in corpus.iterdir() if p.is_dir()):
            yield repo.name, repo
    if libraries:
        for name in CORPUS_PACKAGES:
            found = package_dir(name)
            if found is not None:
                yield name, found
        torch_dir = package_dir("torch")
        if torch_dir is not None:
            yield "torch.nn", torch_dir / "nn"


def read(path: Path) -> str | None:
    try:
        data = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix == ".ipynb":
        try:
            return NotebookText.from_ipynb(data).text
        except ValueError:
            return None
    return data


def check_fix(text: str, path: str, finding: Finding, fix: Fix,
              before: list[Finding], project: ProjectIndex) -> str | None:
    """None when the fix keeps its promise, else what went wrong."""
    fixed = apply_edits(text, list(fix.edits))
    others = {f.path: (f.text, apply_edits(f.text, list(f.edits)), f.edits)
              for f in fix.other_files}
    try:
        ast.parse(fixed)
        for _, new, _ in others.values():
            ast.parse(new)
    except SyntaxError as exc:
        return f"does not parse: {exc}"
    overlay = project_with(project, {path: fixed, **{p: n for p, (_, n, _) in others.items()}})
    after = analyze(fixed, path, EVERY, overlay).findings
    moved = PositionMap(text, fixed, list(fix.edits))
    where = moved.map(finding.range.start)
    if any(g.code == finding.code and g.range.start == where for g in after):
        return "finding still there"
    old = [(f.code, moved.map(f.range.start)) for f in before]
    new = [g for g in after if (g.code, g.range.start) not in old]
    for other, (old_text, new_text, edits) in others.items():
        was = analyze(old_text, other, EVERY, project).findings
        now = analyze(new_text, other, EVERY, overlay).findings
        mapping = PositionMap(old_text, new_text, list(edits))
        gone = [(f.code, mapping.map(f.range.start)) for f in was]
        new += [g for g in now if (g.code, g.range.start) not in gone]
    if new:
        return f"new {new[0].code} at line {new[0].range.start.line + 1}"
    return None


def reason(text: str, path: str, finding: Finding, project: ProjectIndex) -> str:
    """Why no fix is listed for ``finding``."""
    if not finding.fixes:
        return "the engine proposes no fix"
    spec = finding.fixes[0]
    edits = edits_for_fix(text, spec)
    if not edits:
        return f"no edit could be made ({spec.kind})"
    fixed = apply_edits(text, edits)
    after = analyze(fixed, path, EVERY, project).findings
    moved = PositionMap(text, fixed, edits)
    old = [(f.code, moved.map(f.range.start)) for f in analyze(text, path, EVERY, project).findings]
    new = sorted({g.code for g in after if (g.code, g.range.start) not in old})
    where = moved.map(finding.range.start)
    if any(g.code == finding.code and g.range.start == where for g in after):
        return f"{spec.kind}: finding still there after the edit"
    if new:
        tail = "" if completions(text, path, spec, project) else ", no complete version"
        return f"{spec.kind}: adds {'+'.join(new)}{tail}"
    return f"{spec.kind}: rejected by verification"


def sweep_root(name: str, root: Path, limit: int, counts: Counter[str],
               missing: list[str], broken: list[str]) -> None:
    files = sorted(p for p in root.rglob("*") if p.suffix in (".py", ".ipynb")
                   and ".ipynb_checkpoints" not in p.parts)
    if limit and len(files) > limit:  # spread evenly over the root
        files = [files[int(i * len(files) / limit)] for i in range(limit)]
    project = ProjectIndex.from_paths([str(p) for p in files if p.suffix == ".py"])
    for path in files:
        text = read(path)
        if text is None:
            continue
        result = analyze(text, str(path), DEFAULT_SETTINGS, project)
        if result.syntax_error:
            continue
        wanted = [f for f in result.findings if f.code in CODES]
        for finding in wanted:
            counts[f"{finding.code} findings"] += 1
            offered = offered_fixes(text, str(path), finding, DEFAULT_SETTINGS, project)
            where = f"{name}/{path.relative_to(root)}:{finding.range.start.line + 1} {finding.code}"
            if not offered:
                missing.append(f"{where}: {reason(text, str(path), finding, project)}")
                continue
            counts[f"{finding.code} with a fix"] += 1
            counts["complete fixes"] += len(offered[0].kinds) > 1
            counts["cross-file fixes"] += bool(offered[0].other_files)
            problem = check_fix(text, str(path), finding, offered[0], result.findings, project)
            if problem is None:
                counts["listed fixes checked clean"] += 1
            else:
                broken.append(f"{where}: {offered[0].title}: {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/corpus"))
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("--libraries", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="files per root (0: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts: Counter[str] = Counter()
    missing: list[str] = []
    broken: list[str] = []
    started = time.perf_counter()
    corpus = None if args.no_corpus or not args.corpus.is_dir() else args.corpus
    for name, root in roots(corpus, args.libraries):
        sweep_root(name, root, args.limit, counts, missing, broken)
        print(f"{name}: {dict(counts)}", file=sys.stderr, flush=True)
    total = sum(counts[f"{c} findings"] for c in CODES)
    fixed = sum(counts[f"{c} with a fix"] for c in CODES)
    report = {"counts": dict(counts), "share_with_fix": round(fixed / total, 3) if total else None,
              "without_fix": missing, "broken_fixes": broken,
              "seconds": round(time.perf_counter() - started, 1)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"TM001/TM002/TM003 findings: {total}; with a listed fix: {fixed} "
          f"({report['share_with_fix']:.1%})" if total else "no findings")
    for code in CODES:
        print(f"  {code}: {counts[f'{code} with a fix']}/{counts[f'{code} findings']}")
    print(f"complete fixes: {counts['complete fixes']}, cross-file: {counts['cross-file fixes']}")
    print(f"listed fixes checked clean: {counts['listed fixes checked clean']}/{fixed}")
    for line in broken:
        print(f"  BROKEN {line}")
    print("without a fix:")
    for line in missing:
        print(f"  {line}")
    print(f"({report['seconds']} s)")


if __name__ == "__main__":
    main()
