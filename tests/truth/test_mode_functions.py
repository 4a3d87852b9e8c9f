"""TM008 against real PyTorch 2.13: the ``training`` defaults the rule relies on, and
for every module of the TM008 fixtures, that the finding is true before the fix and
gone after it.

A dropout-like finding (default ``training=True``) is true when two eval-mode runs
of the module give different outputs; a ``training=False`` default is true when
two train-mode runs give the same output (never active); an ``F.batch_norm`` with
running statistics is true when a train-mode forward leaves them unchanged. After
``fix_all`` (unsafe) eval outputs are deterministic and train outputs stochastic
(running statistics move).
"""

from __future__ import annotations

import ast
import inspect
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchmode.analysis.functional import MODE_FUNCTIONS, Effect, ModeFunction
from torchmode.analyzer import analyze
from torchmode.findings import Finding
from torchmode.fixes import fix_all
from torchmode.project import ProjectIndex

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"
TM008_FILES = [FIXTURES / "tm008_spellings.py", FIXTURES / "project_functional" / "heads.py"]


@pytest.mark.parametrize("entry", MODE_FUNCTIONS.values(), ids=lambda e: e.qualname)
def test_training_default_is_what_the_rule_says(entry: ModeFunction) -> None:
    module, _, name = entry.qualname.rpartition(".")
    function = getattr(F if module == "torch.nn.functional" else torch, name)
    x = torch.randn(8, 16, 32) if name == "dropout1d" else torch.randn(8, 16, 4, 4)
    args = [x, 0.5, 0.5][: entry.training_index] if name != "batch_norm" else \
        [x, torch.zeros(16), torch.ones(16), None, None]
    if entry.default is None:
        with pytest.raises(TypeError):
            function(*args)
        return
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a Python signature: check behaviour
        signature = None
    if signature is not None:
        params = list(signature.parameters)
        assert params.index(entry.keyword) == entry.training_index
        assert signature.parameters[entry.keyword].default is entry.default
    if entry.effect is Effect.RUNNING_STATS:
        running_mean = args[1].clone()
        function(*args)
        assert torch.equal(args[1], running_mean), "the default never updates running stats"
    else:
        # the default acts as training=default: deterministic exactly when it is False
        assert torch.equal(function(*args), function(*args)) is (not entry.default)


def _project(path: Path) -> ProjectIndex | None:
    if not path.parent.name.startswith("project_"):
        return None
    return ProjectIndex.from_paths([str(p) for p in path.parent.glob("*.py")])


def _findings(path: Path) -> tuple[str, list[Finding]]:
    text = path.read_text(encoding="utf-8")
    found = analyze(text, str(path), project=_project(path)).findings
    return text, [f for f in found if f.code == "TM008"]


def _classes_with_findings(text: str, findings: list[Finding]) -> dict[str, set[Effect]]:
    tree = ast.parse(text)
    out: dict[str, set[Effect]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for finding in findings:
            line = finding.range.start.line + 1
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                callee = text.splitlines()[line - 1][finding.range.start.character:]
                out.setdefault(node.name, set()).add(_effect_of(callee))
    return out


def _effect_of(callee: str) -> Effect:
    name = callee.split("(", 1)[0].rsplit(".", 1)[-1]
    name = {"drop2d": "dropout2d"}.get(name, name)
    for entry in MODE_FUNCTIONS.values():
        if entry.qualname.rsplit(".", 1)[-1] == name and entry.default is not None:
            return entry.effect
    raise AssertionError(f"no table entry for {callee!r}")


def _load(text: str, path: Path, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.path.insert(0, str(path.parent))
    try:
        exec(compile(text, str(path), "exec"), module.__dict__)
    finally:
        sys.path.remove(str(path.parent))
    return module


def _runs_differ(net: nn.Module, x: torch.Tensor) -> bool:
    with torch.no_grad():
        return not torch.equal(net(x.clone()), net(x.clone()))


def _stats_move(net: nn.Module, x: torch.Tensor) -> bool:
    before = [b.clone() for b in net.buffers()]
    with torch.no_grad():
        net(x)
    return any(not torch.equal(a, b) for a, b in zip(before, net.buffers(), strict=True))


@pytest.mark.parametrize("path", TM008_FILES, ids=lambda p: p.name)
def test_each_fixture_module_misbehaves_before_and_not_after_the_fix(path: Path) -> None:
    torch.manual_seed(0)
    text, findings = _findings(path)
    classes = _classes_with_findings(text, findings)
    assert classes, "the fixture has TM008 findings in module classes"
    fixed = fix_all(text, str(path), unsafe=True, project=_project(path))
    assert len([f for f in fixed.fixed if f.code == "TM008"]) == len(findings)
    assert not [f for f in fixed.remaining if f.code == "TM008"]
    before = _load(text, path, f"before_{path.stem}")
    after = _load(fixed.text, path, f"after_{path.stem}")
    for name, effects in classes.items():
        assert len(effects) == 1, f"{name}: one kind of finding per fixture class"
        effect = effects.pop()
        shape = getattr(before, name).input_shape
        x = torch.randn(*shape)
        bad, good = getattr(before, name)(), getattr(after, name)()
        if effect is Effect.ON_IN_EVAL:
            assert _runs_differ(bad.eval(), x), f"{name}: eval output should be random"
        elif effect is Effect.OFF_IN_TRAIN:
            assert not _runs_differ(bad.train(), x), f"{name}: never active in training"
        else:
            assert not _stats_move(bad.train(), x), f"{name}: running stats never updated"
        assert not _runs_differ(good.eval(), x), f"{name}: fixed eval output is deterministic"
        if effect is Effect.RUNNING_STATS:
            assert _stats_move(good.train(), x), f"{name}: fixed train updates running stats"
        else:
            assert _runs_differ(good.train(), x), f"{name}: fixed train output is random"
