"""Helpers for CLI tests: run ``torchmode`` in-process and write sample projects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from torchmode.cli import main
from torchmode.config import clear_cache

REPO = Path(__file__).resolve().parents[2]

# An evaluation loop after training with no model.eval(): TM001 on the forward call
# in the validation loop (line VAL_LINE, 1-based). Grad is off, so no TM002.
MISSING_EVAL = '''\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))


def train_and_validate(train_loader, val_loader):
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        for x, y in val_loader:
            out = model(x)
    return out
'''
VAL_LINE = 25
VAL_COL = 19  # 1-based column of `model(x)` on VAL_LINE

# `model.eval` without parentheses: TM004 (error), a safe fix.
BARE_EVAL = '''\
import torch


def evaluate(model, loader):
    model.eval
    with torch.no_grad():
        for x in loader:
            model(x)
'''
BARE_LINE = 5

CLEAN = '''\
import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x in loader]
'''


@dataclass
class Run:
    status: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def _fresh_config_cache() -> None:
    clear_cache()


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> Callable[..., Run]:
    """Run ``torchmode`` in-process from ``tmp_path`` (so paths print relative)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*argv: str) -> Run:
        capsys.readouterr()
        status = main(list(argv))
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    return run


def run_subprocess(args: list[str], cwd: Path, timeout: float = 120,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m torchmode ARGS`` in a child process."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "torchmode", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def notebook(cells: list[tuple[str, str]]) -> str:
    """An .ipynb document from (cell_type, source) pairs."""
    return json.dumps({
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source,
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for kind, source in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    })
