"""The engine stays readable: no module over 800 lines, no function over 60 lines, no
function whose cyclomatic complexity radon grades worse than D (above 30).

These are the limits a newcomer can read in an afternoon; a change that crosses one
splits the function or the module instead of raising the limit.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from radon.complexity import cc_rank, cc_visit

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "torchmode"
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 60
WORST_GRADE = "D"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _blocks(blocks: list[Any]) -> Iterator[Any]:
    """radon's functions and classes, with methods and closures taken out of them."""
    for block in blocks:
        yield block
        yield from _blocks(getattr(block, "methods", []))
        yield from _blocks(getattr(block, "closures", []))


def _label(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def test_the_package_is_found() -> None:
    assert len(SOURCES) > 50


@pytest.mark.parametrize("path", SOURCES, ids=_label)
def test_modules_stay_short(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_label(path)} has {lines} lines"


@pytest.mark.parametrize("path", SOURCES, ids=_label)
def test_functions_stay_short(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [f"{fn.name} (line {fn.lineno}): {fn.end_lineno - fn.lineno + 1} lines"
            for fn in _functions(tree)
            if fn.end_lineno is not None and fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{_label(path)}: " + "; ".join(long)


@pytest.mark.parametrize("path", SOURCES, ids=_label)
def test_no_function_is_graded_worse_than_d(path: Path) -> None:
    blocks = cc_visit(path.read_text(encoding="utf-8"))
    tangled = [f"{b.name} (line {b.lineno}): {cc_rank(b.complexity)} ({b.complexity})"
               for b in _blocks(blocks) if cc_rank(b.complexity) > WORST_GRADE]
    assert not tangled, f"{_label(path)}: " + "; ".join(tangled)
