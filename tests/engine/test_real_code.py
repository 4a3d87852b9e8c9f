"""Regressions found by the real-code sweep, pinned on the installed library sources
(pytorch-lightning is a pinned dev dependency)."""

from __future__ import annotations

from pathlib import Path

import pytest
from torchmode.analyzer import analyze
from torchmode.project import ProjectIndex


def test_lightning_trainer_flag_is_not_a_module_flag() -> None:
    pl = pytest.importorskip("pytorch_lightning")
    root = Path(pl.__file__).parent
    paths = [str(p) for p in sorted(root.rglob("*.py"))]
    project = ProjectIndex.from_paths(paths)
    target = root / "loops" / "training_epoch_loop.py"
    text = target.read_text(encoding="utf-8")
    assert "self.trainer.training = True" in text
    result = analyze(text, str(target), project=project)
    assert result.syntax_error is None
    assert [f for f in result.findings if f.code == "TM006"] == []
