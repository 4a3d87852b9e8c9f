"""The engine's stated modes against what real PyTorch does at the same calls.

Each program under ``programs/`` is run with torch (CPU, a fraction of a
second). First its ``# truth:`` annotations are checked against the recording
(so the programs say what PyTorch really does); then, wherever ``analyze()``
states a definite module mode ({"train"} or {"eval"}) or a definite grad state
for a forward call, it must equal every recording at that line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .recorder import Recorded, compare_with_engine, expected_annotations, record_modes

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("p*.py"))
_CACHE: dict[Path, list[Recorded]] = {}


def recorded(path: Path) -> list[Recorded]:
    if path not in _CACHE:
        _CACHE[path] = record_modes(path)
    return _CACHE[path]


def by_line(records: list[Recorded]) -> dict[int, list[Recorded]]:
    out: dict[int, list[Recorded]] = {}
    for rec in records:
        out.setdefault(rec.line, []).append(rec)
    return out


def test_recorder_tells_calls_on_one_line_apart(tmp_path: Path) -> None:
    program = tmp_path / "two.py"
    program.write_text(
        "import torch, torch.nn as nn\n"
        "model, criterion = nn.Linear(2, 2).eval(), nn.MSELoss()\n"
        "loss = criterion(model(torch.ones(1, 2)), torch.ones(1, 2))\n",
        encoding="utf-8",
    )
    records = record_modes(program)
    assert [(r.module_type, r.character, r.training) for r in records] == [
        ("Linear", 17, False),
        ("MSELoss", 7, True),
    ]


def _mode(training: bool | None) -> str:
    return "mixed" if training is None else "train" if training else "eval"


def _grad(enabled: bool) -> str:
    return "grad" if enabled else "no_grad"


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_program_annotations_match_pytorch(path: Path) -> None:
    lines = by_line(recorded(path))
    annotations = expected_annotations(path)
    assert annotations, "a truth program without annotations checks nothing"
    problems = []
    for line, (training, grad) in sorted(annotations.items()):
        recs = lines.get(line)
        if not recs:
            problems.append(f"line {line + 1}: annotated but never called")
            continue
        for rec in recs:
            if (rec.training, rec.grad_enabled) != (training, grad):
                problems.append(
                    f"line {line + 1}: annotated {_mode(training)} {_grad(grad)}, "
                    f"PyTorch ran {_mode(rec.training)} {_grad(rec.grad_enabled)}"
                )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_engine_agrees_with_pytorch(path: Path) -> None:
    from torchmode.analyzer import analyze

    text = path.read_text(encoding="utf-8")
    result = analyze(text, str(path))
    assert result.syntax_error is None
    problems, compared = compare_with_engine(recorded(path), result.forward_calls,
                                             text.splitlines())
    assert not problems, "engine disagrees with PyTorch:\n" + "\n".join(problems)
    assert compared, "the engine stated no definite mode or grad state at any recorded call"


def test_recorder_skips_submodule_calls(tmp_path: Path) -> None:
    program = tmp_path / "nested.py"
    program.write_text(
        "import torch, torch.nn as nn\n"
        "m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.Linear(2, 2)))\n"
        "m.eval()\n"
        "with torch.no_grad():\n"
        "    [m(torch.ones(1, 2)) for _ in range(2)]\n"
        "m.train()\n"
        "m(torch.ones(1, 2))\n",
        encoding="utf-8",
    )
    assert record_modes(program) == [
        Recorded(4, False, False, "Sequential", 5, False),
        Recorded(4, False, False, "Sequential", 5, False),
        Recorded(6, True, True, "Sequential", 0, True),
    ]


def test_recorder_records_the_mode_layers_run_in(tmp_path: Path) -> None:
    program = tmp_path / "flags.py"
    program.write_text(
        "import torch, torch.nn as nn\n"
        "m = nn.Sequential(nn.Linear(2, 2), nn.Dropout())\n"
        "m.training = False\n"
        "m(torch.ones(1, 2))\n"
        "m.train()\n"
        "m[1].eval()\n"
        "m(torch.ones(1, 2))\n",
        encoding="utf-8",
    )
    first, second = record_modes(program)
    assert (first.training, first.own_training) == (True, False)
    assert (second.training, second.own_training) == (None, True)


def test_recorder_restores_grad_mode(tmp_path: Path) -> None:
    import torch

    program = tmp_path / "leaky.py"
    program.write_text("import torch\ntorch.set_grad_enabled(False)\n", encoding="utf-8")
    record_modes(program)
    assert torch.is_grad_enabled()
