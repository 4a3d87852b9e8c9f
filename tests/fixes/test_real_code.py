"""Edit builders against real-world formatting: torch's own nn sources (installed
with the dev dependencies). Fixes are made by hand on sampled real statements and
functions; each result must parse and differ from the original AST by exactly the
intended insertion, wrapper or decorator, and a fix is refused only where no
correct edit exists."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest
import torch
from torchmode.findings import FixKind, FixSpec
from torchmode.fixes import apply_edits, edits_for_fix

from fixes.astdiff import is_intended

SOURCES = sorted((Path(torch.__file__).parent / "nn" / "modules").glob("*.py"))[:30]
DOCSTRING_STARTS = ('"""', "'''", 'r"""', "r'''")


def _suspends(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for n in ast.walk(node))


def _refusal_is_expected(spec: FixSpec, node: ast.stmt, line: str) -> bool:
    """No correct edit exists: a lone docstring, an elif/else branch, the top of a
    one-line function, a block that yields or awaits (a with would leak)."""
    if line.startswith(DOCSTRING_STARTS + ("elif ", "else:")):
        return True
    if spec.kind == FixKind.INSERT_EVAL and isinstance(node, ast.FunctionDef):
        return line.startswith("def ") and not line.rstrip().endswith(":")
    return spec.kind == FixKind.WRAP_NO_GRAD and _suspends(node)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_fixes_on_real_statements_are_exact(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    rng = random.Random(path.name)
    statements = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and n.col_offset > 0]
    functions = [n for n in statements if isinstance(n, ast.FunctionDef)]
    specs: list[tuple[FixSpec, ast.stmt]] = []
    for node in rng.sample(statements, min(4, len(statements))):
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        specs.append((FixSpec(kind=FixKind.INSERT_EVAL, title="t", safe=False, target_line=first,
                              target_end_line=last, code="model.eval()"),
                      node))
        specs.append((FixSpec(kind=FixKind.WRAP_NO_GRAD, title="t", safe=False, target_line=first,
                              target_end_line=last, code="torch.no_grad()"), node))
    for node in rng.sample(functions, min(2, len(functions))):
        specs.append((FixSpec(kind=FixKind.DECORATE_NO_GRAD, title="t", safe=False,
                              target_line=node.lineno - 1,
                              target_end_line=(node.end_lineno or node.lineno) - 1,
                              code="torch.no_grad()"), node))
    for spec, node in specs:
        edits = edits_for_fix(text, spec)
        line = lines[spec.target_line].strip()
        if edits is None:
            assert _refusal_is_expected(spec, node, line), (path.name, spec, line)
            continue
        assert is_intended(text, apply_edits(text, edits), spec), (path.name, spec)
