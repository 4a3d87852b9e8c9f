"""Differential check with real PyTorch: apply every fix (unsafe included) to the
runnable examples and truth programs, run the fixed program under the forward
pre-hook recorder, and check that each fix did at run time what it promised:

- TM001/TM007 fixed: the reported forward call (or export) now runs in eval mode;
- TM002 fixed: every forward call inside the wrapped region runs with grad off;
- TM003 fixed: the trained model's forward calls from the inserted ``train()`` up
  to the training step run in train mode;
- every ``# truth:`` annotation that no fix was meant to change still holds
  (fixes do not break correct code).

(Whether the engine's facts on a fixed program agree with PyTorch is the truth
tests' subject, not this one: a fix can move a program into a spot the engine
does not model, e.g. ``getattr(model, "train")(True)``.)
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from torchmode.analyzer import analyze
from torchmode.findings import Finding, FixSpec
from torchmode.fixes import fix_all
from torchmode.settings import DEFAULT_SETTINGS
from truth.recorder import expected_annotations, record_modes

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PROGRAMS = sorted((ROOT / "tests" / "truth" / "programs").glob("p*.py"))
RUNNABLE_EXAMPLES = sorted(
    p for p in EXAMPLES.rglob("*.py") if p.name not in ("models.py", "evaluation.py"))


def _project(path: Path) -> object:
    if path.is_relative_to(EXAMPLES):
        from torchmode.project import ProjectIndex

        return ProjectIndex.from_paths([str(p) for p in sorted(EXAMPLES.rglob("*.py"))])
    return None


def line_map(old: str, new: str) -> dict[int, int]:
    """Old line -> new line, matching lines by their text without indentation (a wrap
    re-indents lines; inserted lines match nothing)."""
    a = [line.strip() for line in old.splitlines()]
    b = [line.strip() for line in new.splitlines()]
    mapping: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            mapping[block.a + k] = block.b + k
    return mapping


def _training(record: object) -> bool:
    """The mode the call ran in (the module's own flag when its leaves are mixed)."""
    effective = record.training  # type: ignore[attr-defined]
    return record.own_training if effective is None else effective  # type: ignore[attr-defined]


def _chosen(finding: Finding) -> FixSpec:
    preferred = [s for s in finding.fixes if s.preferred]
    return (preferred or list(finding.fixes))[0]


def _run_fixed(path: Path, tmp_path: Path) -> tuple[str, str, list, list[Finding], list[Finding]]:
    text = path.read_text(encoding="utf-8")
    project = _project(path)
    before = analyze(text, str(path), DEFAULT_SETTINGS, project).findings  # type: ignore[arg-type]
    result = fix_all(text, str(path), DEFAULT_SETTINGS, unsafe=True,
                     project=project)  # type: ignore[arg-type]
    copy = tmp_path / "program"
    shutil.copytree(path.parent, copy)
    fixed_path = copy / path.name
    fixed_path.write_bytes(result.text.encode("utf-8"))
    records = record_modes(fixed_path)
    fixed = [f for f in result.fixed if f in before]  # first-round findings: original positions
    return text, result.text, records, fixed, before


@pytest.mark.parametrize("path", RUNNABLE_EXAMPLES + PROGRAMS, ids=lambda p: p.name)
def test_fixed_program_runs_as_the_fixes_promise(path: Path, tmp_path: Path) -> None:
    text, fixed_text, records, fixed, _ = _run_fixed(path, tmp_path)
    lines = line_map(text, fixed_text)
    problems: list[str] = []
    overridden: set[int] = set()  # new lines whose behaviour a fix was meant to change

    def check(new_line: int, what: str, ok, need_calls: bool = True) -> None:
        recs = [r for r in records if r.line == new_line]
        overridden.add(new_line)
        if need_calls and not recs:
            problems.append(f"line {new_line + 1}: {what}: no forward call recorded")
        for r in recs:
            if not ok(r):
                problems.append(f"line {new_line + 1}: {what}: PyTorch ran "
                                f"training={r.training} grad={r.grad_enabled}")

    for finding in fixed:
        spec = _chosen(finding)
        if finding.code in ("TM001", "TM007"):
            check(lines[finding.range.start.line], f"{finding.code} fixed, eval expected",
                  lambda r: _training(r) is False)
        elif finding.code == "TM002":
            first, last = lines[spec.target_line], lines[spec.target_end_line]
            for new_line in range(first, last + 1):
                check(new_line, "TM002 fixed, grad off expected",
                      lambda r: not r.grad_enabled, need_calls=False)
        elif finding.code == "TM003" and finding.related:
            step = lines[finding.related[0].range.start.line]
            start = lines[spec.target_line]
            facts = analyze(fixed_text, "fixed.py").forward_calls
            calls = {f.line for f in facts if f.entity == spec.entity and start <= f.line <= step}
            assert calls, f"no forward call of {spec.entity} between the fix and the step"
            for new_line in sorted(calls):
                check(new_line, "TM003 fixed, train expected",
                      lambda r: _training(r) is True or not r.grad_enabled, need_calls=False)

    # Correct code stays correct: annotations no fix was meant to change still hold.
    for old_line, (training, grad) in expected_annotations(path).items():
        new_line = lines.get(old_line)
        if new_line is None or new_line in overridden:
            continue
        for r in (r for r in records if r.line == new_line):
            if (_training(r), r.grad_enabled) != (training, grad):
                problems.append(f"line {new_line + 1}: annotated {training}/{grad}, "
                                f"after fixing PyTorch ran {_training(r)}/{r.grad_enabled}")

    assert not problems, "\n".join(problems)


def test_the_differential_check_sees_fixes() -> None:
    """The programs above do contain fixed bugs of every runtime kind."""
    seen = set()
    for path in RUNNABLE_EXAMPLES + PROGRAMS:
        text = path.read_text(encoding="utf-8")
        result = fix_all(text, str(path), DEFAULT_SETTINGS, unsafe=True,
                         project=_project(path))  # type: ignore[arg-type]
        seen |= {f.code for f in result.fixed}
    assert {"TM001", "TM002", "TM003", "TM007"} <= seen


# -- the shapes of RULES.md §4 "Complete fixes", fixed as a user would and run -----------------

SHAPES = ROOT / "tests" / "fixes" / "shapes"
SHAPE_PROGRAMS = sorted(SHAPES.glob("s*.py")) + [SHAPES / "helper_module" / "train.py"]


def fixed_annotations(path: Path) -> dict[int, tuple[bool, bool]]:
    """``# fixed: train grad`` / ``# fixed: eval no_grad``: what every forward call of
    that line must run in once the program is fixed (0-based lines)."""
    out = {}
    for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if "# fixed:" in line:
            mode, grad = line.split("# fixed:", 1)[1].split()
            out[index] = (mode == "train", grad == "grad")
    return out


@pytest.mark.parametrize("path", SHAPE_PROGRAMS, ids=lambda p: p.parent.name + "/" + p.name)
def test_fixed_shape_evaluates_in_eval_and_trains_in_train(path: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """``torchmode check --fix --unsafe-fixes`` on the program's folder, then the fixed
    program runs under the forward pre-hook: every evaluation forward call in eval mode
    with grad off, every training-step forward call in train mode with grad on (the
    complete fix's ``train()`` is what keeps the second epoch right)."""
    from torchmode.cli import main

    folder = tmp_path / "program"
    if path.parent == SHAPES:
        folder.mkdir()
        shutil.copy(SHAPES / "data.py", folder / "data.py")
        shutil.copy(path, folder / path.name)
    else:
        shutil.copytree(path.parent, folder)
    monkeypatch.chdir(folder)
    assert main(["check", "--fix", "--unsafe-fixes", "--exit-zero", "."]) == 0
    assert main(["check", "."]) == 0  # every finding fixed, none added
    fixed_text = (folder / path.name).read_text(encoding="utf-8")
    assert fixed_text != path.read_text(encoding="utf-8") or path.parent != SHAPES
    lines = line_map(path.read_text(encoding="utf-8"), fixed_text)
    records = record_modes(folder / path.name)
    problems = []
    for old_line, (training, grad) in fixed_annotations(path).items():
        recs = [r for r in records if r.line == lines[old_line]]
        if not recs:
            problems.append(f"line {old_line + 1}: no forward call recorded")
        problems += [f"line {old_line + 1}: expected training={training} grad={grad}, "
                     f"PyTorch ran training={_training(r)} grad={r.grad_enabled}"
                     for r in recs if (_training(r), r.grad_enabled) != (training, grad)]
    assert not problems, "\n".join(problems) + "\n" + fixed_text
