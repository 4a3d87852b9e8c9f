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

from .recorder import Recorded, expected_annotations, record_modes

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


def _mode(training: bool) -> str:
    return "train" if training else "eval"


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
    lines = by_line(recorded(path))
    source = text.splitlines()
    problems: list[str] = []
    compared = 0
    for fact in result.forward_calls:
        recs = lines.get(fact.line, [])
        if not recs:
            continue  # not reached at run time, or m.forward(x) (no hooks)
        where = f"line {fact.line + 1} ({fact.entity}): {source[fact.line].strip()}"
        if fact.modes in ({"train"}, {"eval"}):
            compared += 1
            (stated,) = fact.modes
            seen = sorted({_mode(r.training) for r in recs})
            if seen != [stated]:
                problems.append(f"{where}\n    engine: {stated}, PyTorch: {', '.join(seen)}")
        if fact.grad_enabled is not None:
            compared += 1
            seen = sorted({_grad(r.grad_enabled) for r in recs})
            if seen != [_grad(fact.grad_enabled)]:
                problems.append(
                    f"{where}\n    engine: {_grad(fact.grad_enabled)}, PyTorch: {', '.join(seen)}"
                )
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
        Recorded(4, False, False, "Sequential"),
        Recorded(4, False, False, "Sequential"),
        Recorded(6, True, True, "Sequential"),
    ]


def test_recorder_restores_grad_mode(tmp_path: Path) -> None:
    import torch

    program = tmp_path / "leaky.py"
    program.write_text("import torch\ntorch.set_grad_enabled(False)\n", encoding="utf-8")
    record_modes(program)
    assert torch.is_grad_enabled()
