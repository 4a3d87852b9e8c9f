"""Incremental analysis in the server is invisible: after every edit, the diagnostics
it published equal a fresh ``torchmode check`` of the same texts in the same workspace.

Random edits (seeded) go into random functions of a project whose findings cross
files (main.py -> runner.py -> evaluation.py, nets.py: tests/fixtures/rules/
project_chain) and of single-file fixtures; each edit is saved, so the server's index,
what it re-analyses and the command line all see the same files.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from lsprotocol import types

from .conftest import Starter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"
SERVER_SRC = Path(__file__).resolve().parents[2] / "server"
FILES = [*(f"project_chain/{n}" for n in ("main.py", "runner.py", "evaluation.py", "nets.py")),
         "tm003_trainer_class.py", "tm001_function_summaries.py"]

Seen = set[tuple[str, int, int, int, int, str]]


def _mutate(text: str, rng: random.Random) -> str | None:
    """One edit inside a random function (or the module's own statements): a mode
    call or ``pass`` inserted at the top of its body, one of its simple statements
    deleted, or a layer swapped; None if the result does not parse."""
    tree = ast.parse(text)
    scopes: list[ast.Module | ast.FunctionDef | ast.AsyncFunctionDef] = [
        n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if any(not isinstance(s, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))
           for s in tree.body):
        scopes.append(tree)
    choice = rng.random()
    if "nn.Dropout(0.5)" in text and choice < 0.15:
        return text.replace("nn.Dropout(0.5)", "nn.Identity()")
    if "nn.Identity()" in text and choice < 0.3:
        return text.replace("nn.Identity()", "nn.Dropout(0.5)")
    if not scopes:
        return None
    scope = rng.choice(scopes)
    lines = text.splitlines(keepends=True)
    body = [s for s in scope.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    first = body[0] if body else scope.body[0]
    indent = lines[first.lineno - 1][: first.col_offset]
    if rng.random() < 0.6 or len(body) < 2:
        args = scope.args.args if not isinstance(scope, ast.Module) else []
        target = args[0].arg if args and args[0].arg != "self" else "model"
        line = rng.choice([f"{target}.eval()", f"{target}.train()", "pass",
                           "torch.set_grad_enabled(False)"])
        at = rng.choice(body).lineno - 1
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            at = max(at, first.end_lineno or first.lineno)   # after a docstring
        lines.insert(at, f"{indent}{line}\n")
    else:
        simple = [s for s in body[1:] if s.lineno == s.end_lineno and
                  not isinstance(s, (ast.Return, ast.FunctionDef, ast.ClassDef))]
        if not simple:
            return None
        del lines[rng.choice(simple).lineno - 1]
    edited = "".join(lines)
    try:
        ast.parse(edited)
    except SyntaxError:
        return None
    return edited


def _checked(root: Path) -> dict[str, Seen]:
    env = {**os.environ, "PYTHONPATH": str(SERVER_SRC)}
    proc = subprocess.run(
        [sys.executable, "-m", "torchmode", "check", "--no-cache", "--show-hints",
         "--exit-zero", "--format", "json", "."],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=True)
    found: dict[str, Seen] = {name: set() for name in FILES}
    for f in json.loads(proc.stdout):
        r = f["range"]
        found[f["path"]].add((f["code"], r["start"]["line"], r["start"]["character"],
                              r["end"]["line"], r["end"]["character"], f["message"]))
    return found


def _published(diagnostics: list[types.Diagnostic]) -> Seen:
    return {(str(d.code), d.range.start.line, d.range.start.character, d.range.end.line,
             d.range.end.character, d.message) for d in diagnostics}


async def test_published_diagnostics_equal_a_fresh_check_after_every_edit(
    start: Starter, tmp_path: Path
) -> None:
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, tmp_path / name)
    session = await start(init_options={"debounceMs": 0})
    uris = {name: session.open(name, (tmp_path / name).read_text()) for name in FILES}
    rng = random.Random(20261202)
    for step in range(24):
        name = rng.choice(FILES)
        edited = _mutate(session.texts[uris[name]], rng)
        if edited is None:
            continue
        version = session.change(uris[name], edited)
        session.save(uris[name])
        await session.diagnostics(uris[name], version)
        expected = _checked(tmp_path)
        await _eventually_equal(session, uris, expected, f"step {step}: edited {name}")


async def _eventually_equal(session: object, uris: dict[str, str],
                            expected: dict[str, Seen], what: str) -> None:
    """Other open files are re-analysed in the background after the save."""
    latest: dict[str, Seen] = {}
    for _ in range(300):
        latest = {}
        for name, uri in uris.items():
            published = session.publishes_for(uri)  # type: ignore[attr-defined]
            latest[name] = _published(published[-1].diagnostics) if published else set()
        if latest == expected:
            return
        await asyncio.sleep(0.05)
    diff = {n: (sorted(latest[n] - expected[n]), sorted(expected[n] - latest[n]))
            for n in uris if latest[n] != expected[n]}
    raise AssertionError(f"{what}: published (extra, missing) vs check: {diff}")
