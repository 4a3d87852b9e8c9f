"""Cost of torchmode's fixes.

1. One fix's edits on a ~5,000-line real file (transformers' ``trainer.py`` when
   installed, else a generated file): ``edits_for_fix`` p50/p95 per fix kind
   (target: p95 < 100 ms), ``noqa_edit``, and ``offered_fixes`` (edits plus the
   verifying re-analysis) for comparison.
   And a complete fix's edits (``completions``: ``eval()`` plus ``train()`` or the
   save/restore) on a generated 5,000-line file, beside its analysis (target: p95
   < 100 ms); ``--complete`` runs only this part.
2. A file without findings pays nothing for fixes: the analyzer never imports
   ``torchmode.fixes`` (checked in a fresh interpreter) and ``fix_all`` on a clean
   file costs one analysis.
3. ``fix_all`` (unsafe included) over a corpus against analysis alone (target
   <= 2x), default corpus: the installed transformers/timm/pytorch_lightning/
   accelerate sources (``--limit`` files, spread evenly), else examples/ and the
   rule fixtures.

    .venv/bin/python benchmarks/bench_fixes.py [--repeat 30] [--limit 400] [--json]

``--sweep``: over the installed library sources (all files), apply every fix the
engine proposes (unsafe included) to an in-memory copy and check, independently
of ``offered_fixes``, that the result parses and re-analyses clean of the fixed
finding with no new finding; also that ``fix_all`` is idempotent. Prints counts
and the first failures.

    .venv/bin/python benchmarks/bench_fixes.py --sweep [--limit 0]

``--stress``: fixes made by hand (insert/wrap on random real statements, decorator
on real functions) over the corpus, each checked to parse and to change the AST
exactly as intended: the edit builders against real-world formatting.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "server"))

from torchmode.analyzer import analyze  # noqa: E402
from torchmode.findings import Finding, FixKind, FixSpec, Range, Severity  # noqa: E402
from torchmode.fixes import (  # noqa: E402
    apply_edits,
    edits_for_fix,
    fix_all,
    noqa_edit,
    offered_fixes,
)
from torchmode.fixes.textedit import PositionMap  # noqa: E402
from torchmode.settings import DEFAULT_SETTINGS  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweep import CORPUS_PACKAGES, package_dir  # noqa: E402


def big_file() -> tuple[str, str]:
    """transformers' trainer.py, or a generated ~5,000-line file."""
    found = package_dir("transformers")
    if found is not None and (found / "trainer.py").exists():
        path = found / "trainer.py"
        return str(path), path.read_text(encoding="utf-8")
    chunks = ["import torch\nimport torch.nn as nn\n\n"]
    for i in range(250):
        chunks.append(
            f"def evaluate_{i}(model, loader):\n"
            f'    """Evaluate {i}."""\n'
            "    total = 0.0\n"
            "    # every batch\n"
            "    for x, y in loader:\n"
            "        out = model(x)\n"
            "        total += (out.argmax(1) == y).float().mean().item()\n"
            "        note = '''\nmulti-line\n'''\n"
            "    return total / len(loader)\n\n\n")
    return "<generated>", "".join(chunks)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return p50 * 1000, p95 * 1000


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def synthetic_specs(text: str) -> list[FixSpec]:
    """Specs on real statements of the file: the biggest `for` loop inside a function
    (insert/wrap), the longest function (insert at top, decorate)."""
    tree = ast.parse(text)
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.For) and n.col_offset > 0]
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    specs = []
    if loops:
        loop = max(loops, key=lambda n: (n.end_lineno or n.lineno) - n.lineno)
        first, last = loop.lineno - 1, (loop.end_lineno or loop.lineno) - 1
        specs.append(FixSpec(kind=FixKind.INSERT_EVAL, title="bench", safe=False,
                             target_line=first, target_end_line=last, code="model.eval()",
                             entity="model"))
        specs.append(FixSpec(kind=FixKind.WRAP_NO_GRAD, title="bench", safe=False,
                             target_line=first, target_end_line=last, code="torch.no_grad()"))
    if funcs:
        func = max(funcs, key=lambda n: (n.end_lineno or n.lineno) - n.lineno)
        first, last = func.lineno - 1, (func.end_lineno or func.lineno) - 1
        specs.append(FixSpec(kind=FixKind.INSERT_EVAL, title="bench (function top)", safe=False,
                             target_line=first, target_end_line=last, code="model.eval()",
                             entity="model"))
        specs.append(FixSpec(kind=FixKind.DECORATE_NO_GRAD, title="bench", safe=False,
                             target_line=first, target_end_line=last, code="torch.no_grad()"))
        specs.append(FixSpec(kind=FixKind.WRAP_NO_GRAD, title="bench (whole body)", safe=False,
                             target_line=func.body[0].lineno - 1, target_end_line=last,
                             code="torch.no_grad()"))
    return specs


def bench_one_fix(repeat: int) -> dict[str, object]:
    path, text = big_file()
    lines = text.count("\n") + 1
    rows: dict[str, object] = {"file": path, "lines": lines}
    analysis = timed(lambda: analyze(text, path), max(3, repeat // 5))
    rows["analyze_ms_p50"] = round(percentiles(analysis)[0], 1)
    findings = analyze(text, path).findings
    real = [(f, s) for f in findings for s in f.fixes]
    specs = [(s.title, s) for _, s in real] + [(f"{s.kind} {s.title}", s)
                                               for s in synthetic_specs(text)]
    edits_rows = []
    for title, spec in specs:
        edits = edits_for_fix(text, spec)
        samples = timed(lambda spec=spec: edits_for_fix(text, spec), repeat)
        p50, p95 = percentiles(samples)
        span = spec.target_end_line - spec.target_line + 1
        edits_rows.append({"fix": title, "target_lines": span, "made": edits is not None,
                           "p50_ms": round(p50, 2), "p95_ms": round(p95, 2)})
    rows["edits_for_fix"] = edits_rows
    probe = Finding("TM001", "missing-eval", "m", Severity.WARNING,
                    Range.of(lines // 2, 0, lines // 2, 1))
    p50, p95 = percentiles(timed(lambda: noqa_edit(text, probe), repeat))
    rows["noqa_edit"] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2)}
    if not real and synthetic_specs(text):
        # No finding in this file: time the verification of a hand-made one (a wrap of
        # its biggest loop); the cost is the re-analysis of the fixed text.
        spec = synthetic_specs(text)[1]
        fake = Finding("TM002", "missing-no-grad", "model runs here with autograd on",
                       Severity.WARNING, Range.of(spec.target_line, 0, spec.target_line, 1),
                       fixes=(spec,))
        real = [(fake, spec)]
        rows["offered_fixes_note"] = "hand-made finding: the file has none"
    if real:
        finding = real[0][0]
        samples = timed(lambda: offered_fixes(text, path, finding, DEFAULT_SETTINGS),
                        max(3, repeat // 5))
        p50, p95 = percentiles(samples)
        rows["offered_fixes_one_finding"] = {"fixes": len(finding.fixes),
                                             "p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
    return rows


_COMPLETE_SHAPES = {
    "inline validation in the epoch loop": (
        "def train_inline(model, opt, train_loader, val_loader):\n"
        "    for epoch in range(3):\n"
        "        for x, y in train_loader:\n"
        "            opt.zero_grad()\n"
        "            nn.functional.cross_entropy(model(x), y).backward()\n"
        "            opt.step()\n"
        "        with torch.no_grad():\n"
        "            for x, y in val_loader:\n"
        "                print(model(x).argmax(1))\n\n\n"),
    "helper with one call": (
        "def evaluate_once(model, loader):\n"
        "    with torch.no_grad():\n"
        "        return [model(x) for x in loader]\n\n\n"
        "def train_helper(model, opt, train_loader, val_loader):\n"
        "    for epoch in range(3):\n"
        "        for x, y in train_loader:\n"
        "            opt.zero_grad()\n"
        "            nn.functional.cross_entropy(model(x), y).backward()\n"
        "            opt.step()\n"
        "        evaluate_once(model, val_loader)\n\n\n"),
    "helper with two calls (save/restore)": (
        "def evaluate_twice(model, loader):\n"
        "    total = 0\n"
        "    with torch.no_grad():\n"
        "        for x, y in loader:\n"
        "            total += model(x).sum().item()\n"
        "    return total\n\n\n"
        "def train_two(model, opt, train_loader, val_loader):\n"
        "    for epoch in range(3):\n"
        "        for x, y in train_loader:\n"
        "            opt.zero_grad()\n"
        "            nn.functional.cross_entropy(model(x), y).backward()\n"
        "            opt.step()\n"
        "        evaluate_twice(model, val_loader)\n"
        "        evaluate_twice(model, val_loader)\n\n\n"),
}


def bench_complete(repeat: int) -> dict[str, object]:
    """A complete fix's edits (``completions``: the ``eval()`` and its partner edit) on
    a ~5,000-line file whose buggy training code sits at its end, side by side with
    one analysis of the same file (target: p95 < 100 ms)."""
    from torchmode.fixes import completions

    filler = ["import torch\nimport torch.nn as nn\n\n\n"]
    while sum(chunk.count("\n") for chunk in filler) < 5000 - 60:
        i = len(filler)
        filler.append(f"def helper_{i}(x):\n    y = x + {i}\n    # scale\n"
                      "    for k in range(3):\n        y = y * 2\n    return y\n\n\n")
    calls = ("model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))\n"
             "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
             "train_inline(model, opt, train_loader, val_loader)\n"
             "train_helper(model, opt, train_loader, val_loader)\n"
             "train_two(model, opt, train_loader, val_loader)\n")
    text = "".join(filler) + "".join(_COMPLETE_SHAPES.values()) + calls
    path = "bench_complete.py"
    analysis = timed(lambda: analyze(text, path), max(5, repeat // 3))
    a50, a95 = percentiles(analysis)
    rows: dict[str, object] = {"lines": text.count("\n"), "analyze_ms_p50": round(a50, 1),
                               "analyze_ms_p95": round(a95, 1)}
    findings = sorted((f for f in analyze(text, path).findings if f.code == "TM001"),
                      key=lambda f: f.range.start)
    shapes = []
    for name, finding in zip(_COMPLETE_SHAPES, findings, strict=True):
        spec = finding.fixes[0]
        made = completions(text, path, spec)
        p50, p95 = percentiles(timed(lambda spec=spec: completions(text, path, spec), repeat))
        shapes.append({"shape": name, "titles": [c.what for c in made],
                       "p50_ms": round(p50, 2), "p95_ms": round(p95, 2)})
    rows["completions"] = shapes
    return rows


def bench_clean_file() -> dict[str, object]:
    probe = ("import sys; sys.path.insert(0, %r)\n"
             "from torchmode.analyzer import analyze\n"
             "analyze(open(%r).read(), 'x.py')\n"
             "print(any(m.startswith('torchmode.fixes') for m in sys.modules))")
    clean = REPO / "tests" / "fixtures" / "rules" / "clean_mnist.py"
    target = clean if clean.exists() else Path(__file__)
    out = subprocess.run([sys.executable, "-c", probe % (str(REPO / "server"), str(target))],
                         capture_output=True, text=True, check=False)
    text = target.read_text(encoding="utf-8")
    analysis_samples: list[float] = []
    fixing_samples: list[float] = []
    for _ in range(10):  # interleaved, so load from other processes hits both alike
        analysis_samples += timed(lambda: analyze(text, str(target)), 5)
        fixing_samples += timed(lambda: fix_all(text, str(target), unsafe=True), 5)
    analysis = percentiles(analysis_samples)[0]
    fixing = percentiles(fixing_samples)[0]
    return {"file": str(target.relative_to(REPO)),
            "analyzer_imports_fixes": out.stdout.strip() == "True",
            "analyze_ms_p50": round(analysis, 2), "fix_all_ms_p50": round(fixing, 2)}


def corpus(limit: int) -> list[Path]:
    files: list[Path] = []
    for name in CORPUS_PACKAGES:
        found = package_dir(name)
        if found is not None:
            files.extend(sorted(found.rglob("*.py")))
    if not files:
        files = sorted((REPO / "examples").rglob("*.py"))
        files += sorted((REPO / "tests" / "fixtures" / "rules").rglob("*.py"))
    if limit and len(files) > limit:
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    return files


def buggy_corpus() -> list[Path]:
    """Files that do have findings: examples/ and the rule fixtures."""
    return sorted([*(REPO / "examples").rglob("*.py"),
                   *(REPO / "tests" / "fixtures" / "rules").rglob("*.py")])


def bench_corpus(limit: int, files: list[Path] | None = None) -> dict[str, object]:
    files = corpus(limit) if files is None else files
    texts = []
    for path in files:
        try:
            texts.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    start = time.perf_counter()
    findings = sum(len(analyze(text, path).findings) for path, text in texts)
    analysis = time.perf_counter() - start
    start = time.perf_counter()
    fixed = changed = 0
    for path, text in texts:
        result = fix_all(text, path, unsafe=True)
        fixed += len(result.fixed)
        changed += result.text != text
    fixing = time.perf_counter() - start
    return {"files": len(texts), "lines": sum(t.count("\n") + 1 for _, t in texts),
            "findings": findings, "fixed": fixed, "files_changed": changed,
            "analyze_s": round(analysis, 2), "fix_all_s": round(fixing, 2),
            "ratio": round(fixing / analysis, 2) if analysis else None}


def sweep(limit: int, samples: int = 8) -> dict[str, object]:
    """Apply every proposed fix to a copy; count what parses, clears, adds nothing."""
    from collections import Counter

    counts: Counter[str] = Counter()
    per_kind: Counter[str] = Counter()
    failures: list[str] = []
    started = time.perf_counter()
    for path in corpus(limit):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            counts["unreadable"] += 1
            continue
        counts["files"] += 1
        before = analyze(text, str(path))
        if before.syntax_error:
            counts["not analysed"] += 1
            continue
        for finding in before.findings:
            counts["findings"] += 1
            silenced = apply_edits(text, [noqa_edit(text, finding)])
            moved_noqa = analyze(silenced, str(path)).findings
            if any(g.code == finding.code and g.range.start == finding.range.start
                   for g in moved_noqa):
                counts["noqa does not silence"] += 1
                failures.append(f"{path}:{finding.range.start.line + 1}: noqa not honoured")
            else:
                counts["noqa silences"] += 1
            for spec in finding.fixes:
                counts["fixes proposed"] += 1
                edits = edits_for_fix(text, spec)
                if not edits:
                    counts["no edit made"] += 1
                    failures.append(f"{path}:{spec.target_line + 1} {spec.kind}: no edit")
                    continue
                fixed = apply_edits(text, edits)
                try:
                    ast.parse(fixed)
                except SyntaxError as exc:
                    counts["does not parse"] += 1
                    failures.append(f"{path}:{spec.target_line + 1} {spec.kind}: {exc}")
                    continue
                counts["parses"] += 1
                after = analyze(fixed, str(path)).findings
                moved = PositionMap(text, fixed, edits)
                where = moved.map(finding.range.start)
                if any(g.code == finding.code and g.range.start == where for g in after):
                    counts["finding still there"] += 1
                    failures.append(f"{path}:{spec.target_line + 1} {spec.kind}: not cleared")
                    continue
                counts["finding cleared"] += 1
                old = [(f.code, moved.map(f.range.start)) for f in before.findings]
                new = [g for g in after if (g.code, g.range.start) not in old]
                if new:
                    counts["new finding (dropped by offered_fixes)"] += 1
                    failures.append(f"{path}:{spec.target_line + 1} {spec.kind}: new "
                                    f"{new[0].code} line {new[0].range.start.line + 1}")
                    continue
                counts["clean"] += 1
                per_kind[spec.kind] += 1
            counts["fixes offered (verified)"] += len(
                offered_fixes(text, str(path), finding, DEFAULT_SETTINGS))
        if before.findings:
            result = fix_all(text, str(path), unsafe=True)
            counts["fix_all files changed"] += result.text != text
            counts["fix_all fixed"] += len(result.fixed)
            again = fix_all(result.text, str(path), unsafe=True)
            if again.text != result.text:
                counts["fix_all not idempotent"] += 1
                failures.append(f"{path}: fix_all changes its own result")
    return {"counts": dict(counts), "clean_by_kind": dict(per_kind),
            "seconds": round(time.perf_counter() - started, 1),
            "failures": failures[:samples]}


def stress(limit: int, per_file: int = 6, seed: int = 0) -> dict[str, object]:
    """Edit builders on real formatting: specs made by hand on real statements of the
    corpus (loops, with/if blocks, simple statements, functions), each result checked
    to parse and to differ from the original AST by exactly the intended change
    (``tests/fixes/astdiff.py``)."""
    import random
    from collections import Counter

    sys.path.insert(0, str(REPO / "tests"))
    from fixes.astdiff import is_intended

    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    started = time.perf_counter()
    for path in corpus(limit):
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        counts["files"] += 1
        statements = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and n.col_offset > 0]
        functions = [n for n in statements if isinstance(n, ast.FunctionDef)]
        picks: list[FixSpec] = []
        for node in rng.sample(statements, min(per_file, len(statements))):
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
            kind = rng.choice([FixKind.INSERT_EVAL, FixKind.WRAP_NO_GRAD])
            code = "model.eval()" if kind == FixKind.INSERT_EVAL else "torch.no_grad()"
            picks.append(FixSpec(kind=kind, title="stress", safe=False, target_line=first,
                                 target_end_line=last, code=code, entity="model"))
        for node in rng.sample(functions, min(2, len(functions))):
            picks.append(FixSpec(kind=FixKind.DECORATE_NO_GRAD, title="stress", safe=False,
                                 target_line=node.lineno - 1,
                                 target_end_line=(node.end_lineno or node.lineno) - 1,
                                 code="torch.no_grad()"))
        for spec in picks:
            counts[f"{spec.kind} tried"] += 1
            edits = edits_for_fix(text, spec)
            if edits is None:
                counts[f"{spec.kind} refused"] += 1
                continue
            new = apply_edits(text, edits)
            try:
                ok = is_intended(text, new, spec)
            except SyntaxError:
                ok = False
            if ok:
                counts[f"{spec.kind} exact"] += 1
            else:
                counts[f"{spec.kind} WRONG"] += 1
                failures.append(f"{path}:{spec.target_line + 1} {spec.kind}")
    return {"counts": dict(sorted(counts.items())), "failures": failures[:10],
            "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--limit", type=int, default=400, help="corpus files (0: all)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stress", action="store_true",
                        help="hand-made fixes on real statements of the corpus, AST-checked")
    parser.add_argument("--sweep", action="store_true",
                        help="apply every proposed fix over the installed libraries")
    parser.add_argument("--complete", action="store_true",
                        help="only the complete-fix latency on a 5,000-line file")
    args = parser.parse_args(argv)
    if args.complete:
        print(json.dumps(bench_complete(args.repeat), indent=2))
        return 0
    if args.stress:
        print(json.dumps(stress(args.limit), indent=2))
        return 0
    if args.sweep:
        outcome = sweep(args.limit)
        print(json.dumps(outcome, indent=2))
        return 0
    report = {"one_fix": bench_one_fix(args.repeat), "complete": bench_complete(args.repeat),
              "clean_file": bench_clean_file(),
              "corpus": bench_corpus(args.limit),
              "corpus_with_findings": bench_corpus(0, buggy_corpus())}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    one = report["one_fix"]
    assert isinstance(one, dict)
    print(f"one fix on {one['file']} ({one['lines']} lines; analyze p50 "
          f"{one['analyze_ms_p50']} ms)")
    for row in one["edits_for_fix"]:  # type: ignore[attr-defined]
        print(f"  edits_for_fix {row['fix']:<45} {row['target_lines']:>5} lines  "
              f"p50 {row['p50_ms']:>7} ms  p95 {row['p95_ms']:>7} ms  made={row['made']}")
    print(f"  noqa_edit p50 {one['noqa_edit']['p50_ms']} ms  "  # type: ignore[index]
          f"p95 {one['noqa_edit']['p95_ms']} ms")  # type: ignore[index]
    if "offered_fixes_one_finding" in one:
        print(f"  offered_fixes (with re-analysis): {one['offered_fixes_one_finding']}")
    complete = report["complete"]
    assert isinstance(complete, dict)
    print(f"complete fixes on a {complete['lines']}-line file (analyze p50 "
          f"{complete['analyze_ms_p50']} ms, p95 {complete['analyze_ms_p95']} ms)")
    for row in complete["completions"]:
        print(f"  completions {row['shape']:<40} p50 {row['p50_ms']:>7} ms  "
              f"p95 {row['p95_ms']:>7} ms  {row['titles']}")
    print(f"clean file: {report['clean_file']}")
    print(f"corpus: {report['corpus']}")
    print(f"examples + rule fixtures: {report['corpus_with_findings']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
