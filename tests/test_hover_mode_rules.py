"""Hovers for TM008 and TM009: the ``training`` default of functional ops, and the
submodules a freeze holds in eval at a model's use."""

from __future__ import annotations

import pytest
from torchmode.analyzer import analyze
from torchmode.hover import hover_info


def hover_at(line_text: str, word: str, entities: list[object] | None = None,
             line: int = 0) -> str | None:
    info = hover_info(line_text, line, line_text.index(word) + 1, entities or [])
    return info.markdown if info is not None else None


@pytest.mark.parametrize("line_text", [
    "x = F.dropout(x, 0.5)",
    "x = torch.nn.functional.dropout2d(x)",
    "x = nn.functional.dropout3d(x)",
    "x = dropout(x, 0.2)",
])
def test_dropout_hover_says_training_defaults_to_true(line_text: str) -> None:
    text = hover_at(line_text, "dropout")
    assert text is not None
    assert "defaults to `True`" in text and "still zeroes elements at random" in text
    assert "training=self.training" in text and "TM008" in text


@pytest.mark.parametrize("line_text,word", [
    ("x = F.alpha_dropout(x)", "alpha_dropout"),
    ("x = F.feature_alpha_dropout(x)", "feature_alpha_dropout"),
    ("x = F.rrelu(x)", "rrelu"),
    ("x = torch.rrelu(x)", "rrelu"),
])
def test_false_default_hover_says_inactive_in_train_mode(line_text: str, word: str) -> None:
    text = hover_at(line_text, word)
    assert text is not None and "defaults to `False`" in text
    assert "inactive in train mode too" in text


def test_batch_norm_hover_speaks_of_running_statistics() -> None:
    text = hover_at("y = F.batch_norm(x, self.running_mean, self.running_var)", "batch_norm")
    assert text is not None and "running statistics and never updates them" in text


def test_torch_dropout_has_no_default() -> None:
    text = hover_at("y = torch.dropout(x, 0.5, self.training)", "dropout")
    assert text is not None and "`train` has no default" in text


@pytest.mark.parametrize("line_text", [
    "y = self.dropout(x)",        # an nn.Dropout attribute
    "dropout = 0.1",               # a variable, not called
    "y = layers.dropout(x)",       # some other module's function
])
def test_look_alikes_get_no_functional_hover(line_text: str) -> None:
    assert hover_at(line_text, "dropout") is None


FREEZE = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
model.backbone = nn.Sequential(nn.BatchNorm2d(8))
model.backbone.eval()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x in loader:
    model.train()
    model(x).sum().backward()
    opt.step()
"""


def test_model_hover_names_the_frozen_submodule_and_where() -> None:
    result = analyze(FREEZE, "train.py")
    lines = FREEZE.splitlines()
    text = hover_at(lines[6], "model", result.entities, line=6)
    assert text is not None
    assert "Held in eval here: model.backbone (`model.backbone.eval()` on line 6)" in text
    after_train = hover_at(lines[9], "model", result.entities, line=9)
    assert after_train is not None and "Held in eval" not in after_train
