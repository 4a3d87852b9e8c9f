"""An analysis is freed as soon as its result is returned.

The language server's worker analyses the open document after every edit; an
analysis left in a reference cycle waits for the cyclic garbage collector, whose full
collections are rare, so several analyses of a large file (tree, facts, dataflow)
pile up and the worker keeps that peak as resident memory.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from torchmode.analyzer import analyze

# a freeze undone by train() (TM009) with a class whose constructor freezes a part:
# the freeze walk looks up constructor freezes through the analysis
TRAIN_UNDOES_FREEZE = '''\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
        self.head = nn.Linear(4, 2)
        self.backbone.eval()

    def forward(self, x):
        return self.head(self.backbone(x))


def fit(loader):
    model = Net()
    model.backbone.eval()
    optimizer = torch.optim.SGD(model.head.parameters(), lr=0.1)
    for x, y in loader:
        model.train()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
'''


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_an_analysis_leaves_no_cyclic_garbage(no_automatic_collection: None) -> None:
    result = analyze(TRAIN_UNDOES_FREEZE, "fit.py")
    assert [f.code for f in result.findings] == ["TM009"]
    assert gc.collect() == 0
