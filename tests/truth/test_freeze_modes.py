"""TM009 against real PyTorch 2.13: the mode the frozen BatchNorm layers really run in
at each training step, before and after the fix.

Every ``fit_*`` function of the TM009 fixture runs on a tiny loader while a global
forward pre-hook records ``bn.training`` of each BatchNorm forward (in these
fixtures only the frozen part has BatchNorm, and every forward is a training
step's). A finding is true when some of them run in training mode; after
``fix_all`` (unsafe) every one runs in eval mode. The clean fixture's freezes
(a re-freezing ``train()`` override, a re-freeze after ``train()``) hold at
every step, which is why TM009 stays silent there.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from torchmode.analyzer import analyze
from torchmode.fixes import fix_all

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"
UNDONE = FIXTURES / "tm009_undone_freeze.py"
CLEAN = FIXTURES / "tm009_clean.py"
ARGUMENTS = {"epochs": 2, "freeze": True, "cfg": SimpleNamespace(freeze_backbone=True)}


@contextmanager
def batch_norm_modes() -> Iterator[list[bool]]:
    """``training`` of every BatchNorm forward while the block runs."""
    seen: list[bool] = []

    def hook(module: nn.Module, _args: object) -> None:
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            seen.append(module.training)

    handle = nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def _load(text: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(text, name, "exec"), module.__dict__)
    return module


def _run(function: object) -> list[bool]:
    torch.manual_seed(0)
    loader = [(torch.randn(4, 3, 8, 8), torch.randint(0, 2, (4,))) for _ in range(2)]
    params = inspect.signature(function).parameters  # type: ignore[arg-type]
    kwargs = {name: ARGUMENTS[name] for name in params if name in ARGUMENTS}
    with batch_norm_modes() as seen:
        function(loader, **kwargs)  # type: ignore[operator]
    return seen


def _fit_functions(module: types.ModuleType) -> dict[str, object]:
    return {name: fn for name, fn in vars(module).items()
            if name.startswith("fit_") and inspect.isfunction(fn)}


def test_each_undone_freeze_trains_batch_norm_before_the_fix_and_not_after() -> None:
    text = UNDONE.read_text(encoding="utf-8")
    findings = [f for f in analyze(text, str(UNDONE)).findings if f.code == "TM009"]
    fixed = fix_all(text, str(UNDONE), unsafe=True)
    assert len(fixed.fixed) == len(findings) and not fixed.remaining
    before, after = _load(text, "before"), _load(fixed.text, "after")
    functions = _fit_functions(before)
    assert len(functions) == len(findings), "one finding per fit_* function"
    for name, function in functions.items():
        modes = _run(function)
        assert modes and any(modes), f"{name}: the frozen BatchNorm trains (finding true)"
        fixed_modes = _run(getattr(after, name))
        assert fixed_modes and not any(fixed_modes), f"{name}: frozen at every step after fix"


@pytest.mark.parametrize("name", ["fit_override", "fit_refreeze", "fit_refreeze_submodule"])
def test_clean_freezes_hold_at_every_training_step(name: str) -> None:
    module = _load(CLEAN.read_text(encoding="utf-8"), "clean")
    modes = _run(getattr(module, name))
    assert modes and not any(modes)
