"""Each rule doc's "Example" runs: the lines it marks ``# TM00N`` are reported with
that code and nothing else is, and its "Use instead" block is clean.

The examples are excerpts: they assume ``import torch``, ``import torch.nn as nn``
and a ``Net`` with Dropout, which is the prelude given here."""

from __future__ import annotations

import re

import pytest
from torchmode.analyzer import analyze
from torchmode.findings import OK
from torchmode.rule_docs import rule_section
from torchmode.settings import ALL_CODES

PRELUDE = '''\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))


'''


def _blocks(code: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", rule_section(code, "Example"), re.S)


def _reported(block: str) -> list[tuple[int, str]]:
    result = analyze(PRELUDE + block, "example.py")
    assert result.outcome == OK
    offset = PRELUDE.count("\n")
    return sorted((f.range.start.line - offset, f.code) for f in result.findings)


@pytest.mark.parametrize("code", ALL_CODES)
def test_doc_example_reports_the_marked_lines(code: str) -> None:
    example = _blocks(code)[0]
    marked = [(i, code) for i, line in enumerate(example.splitlines())
              if re.search(rf"#\s*{code}\b", line)]
    assert marked, f"{code}'s example marks no line"
    assert _reported(example) == marked


@pytest.mark.parametrize("code", ALL_CODES)
def test_doc_use_instead_block_is_clean(code: str) -> None:
    blocks = _blocks(code)
    assert len(blocks) >= 2, f"{code}'s doc has no 'Use instead' block"
    assert _reported(blocks[1]) == []
