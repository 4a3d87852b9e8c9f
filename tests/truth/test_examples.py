"""examples/: what torchmode reports on each (as listed in examples/README.md),
and, since every example runs on random tensors, the engine against PyTorch there too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from torchmode.notebook import NotebookText

from .recorder import compare_with_engine, record_modes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# file -> list of (code, a unique piece of the reported line)
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "cifar/models.py": [],
    "cifar/evaluation.py": [],
    "cifar/train.py": [],
    "missing_eval.py": [("TM001", "correct += (model(x).argmax(1) == y)")],
    "missing_no_grad.py": [("TM002", "for signals, targets in loader:")],
    "no_train_after_validation.py": [("TM003", "{self.validate():.2%}")],
    "gan.py": [("TM003", "        netG.eval()")],
    "predict.py": [("TM001", "probs = model(images)"), ("TM002", "probs = model(images)")],
    "export_model.py": [
        ("TM007", "traced = torch.jit.trace(model, example)"),
        ("TM006", "    model.training = False"),
    ],
}
NOTEBOOK_EXPECTED = [("TM001", "errors.append(nn.functional.mse_loss(model(x), y)")]
RUNNABLE = [name for name in EXPECTED if name not in ("cifar/models.py", "cifar/evaluation.py")]


def _project():
    from torchmode.project import ProjectIndex

    return ProjectIndex.from_paths([str(p) for p in sorted(EXAMPLES.rglob("*.py"))])


def _line_of(lines: list[str], piece: str) -> int:
    found = [i for i, line in enumerate(lines) if piece in line]
    assert len(found) == 1, f"{piece!r} must be on exactly one line, found {len(found)}"
    return found[0]


def test_every_example_is_listed() -> None:
    on_disk = {str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.py")}
    assert on_disk == set(EXPECTED)
    assert {p.name for p in EXAMPLES.glob("*.ipynb")} == {"notebook_validation.ipynb"}
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in [*EXPECTED, "notebook_validation.ipynb"]:
        assert name in readme, f"{name} is not described in examples/README.md"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_findings(name: str) -> None:
    from torchmode.analyzer import analyze

    path = EXAMPLES / name
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    result = analyze(text, str(path), project=_project())
    assert result.syntax_error is None
    want = sorted((_line_of(lines, piece), code) for code, piece in EXPECTED[name])
    got = sorted((f.range.start.line, f.code) for f in result.findings)
    assert got == want, "\n".join(
        [f"{name}: expected {[(n + 1, c) for n, c in want]}, got {[(n + 1, c) for n, c in got]}"]
        + [f"  line {f.range.start.line + 1} {f.code}: {f.message}" for f in result.findings]
    )


def test_notebook_findings() -> None:
    from torchmode.analyzer import analyze

    path = EXAMPLES / "notebook_validation.ipynb"
    notebook = NotebookText.from_ipynb(path.read_text(encoding="utf-8"))
    result = analyze(notebook.text, str(path))
    lines = notebook.text.splitlines()
    want = sorted((_line_of(lines, piece), code) for code, piece in NOTEBOOK_EXPECTED)
    got = sorted((f.range.start.line, f.code) for f in result.findings)
    assert got == want, [(f.code, f.message) for f in result.findings]
    # The bug spans cells: the model is built in cell 2, evaluated in cell 5.
    assert notebook.locate(want[0][0]).cell == 5


_RECORDS: dict[str, list] = {}


def _recorded(name: str) -> list:
    if name not in _RECORDS:
        _RECORDS[name] = record_modes(EXAMPLES / name)
    return _RECORDS[name]


@pytest.mark.parametrize("name", RUNNABLE)
def test_example_runs(name: str) -> None:
    start = time.perf_counter()
    records = _recorded(name)
    assert records, "the example made no forward call"
    assert time.perf_counter() - start < 20


@pytest.mark.parametrize("name", RUNNABLE)
def test_engine_agrees_with_pytorch_on_example(name: str) -> None:
    from torchmode.analyzer import analyze

    path = EXAMPLES / name
    text = path.read_text(encoding="utf-8")
    facts = analyze(text, str(path), project=_project()).forward_calls
    problems, _ = compare_with_engine(_recorded(name), facts, text.splitlines())
    assert not problems, "engine disagrees with PyTorch:\n" + "\n".join(problems)


def test_notebook_runs_and_engine_agrees_with_pytorch(tmp_path: Path) -> None:
    """The notebook's code cells, joined as torchmode reads them, run as one program."""
    from torchmode.analyzer import analyze

    path = EXAMPLES / "notebook_validation.ipynb"
    notebook = NotebookText.from_ipynb(path.read_text(encoding="utf-8"))
    program = tmp_path / "notebook_validation.py"
    program.write_text(notebook.text, encoding="utf-8")
    records = record_modes(program)
    assert any(not r.grad_enabled and r.training for r in records), "the bug really runs"
    facts = analyze(notebook.text, str(path)).forward_calls
    problems, compared = compare_with_engine(records, facts, notebook.text.splitlines())
    assert not problems, "engine disagrees with PyTorch:\n" + "\n".join(problems)
    assert compared
