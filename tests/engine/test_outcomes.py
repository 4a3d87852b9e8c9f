"""Every analysis says how it ended: Ok, ParseError, InternalError or Partial; one
rule's bug costs that rule's findings only; the CLI prints an internal error as one
line (exit 2) and a partial analysis as a note."""

from __future__ import annotations

from pathlib import Path

import pytest
from torchmode import rules
from torchmode.analyzer import analyze
from torchmode.cli import main
from torchmode.findings import OK, InternalError, ParseError, Partial

# TM001 on line 9 (no model.eval()) and TM002 on line 9 (no torch.no_grad()).
EVAL_LOOP = (
    "import torch\n"
    "import torch.nn as nn\n\n"
    "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"
    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "for x in train_loader:\n"
    "    model(x).sum().backward()\n"
    "for x in val_loader:\n"
    "    model(x)\n"
)

# Eight modules passed down a chain inside a loop: the loop's state needs more
# iterations to settle than the engine allows itself.
LOOP_CAP = (
    "import torch\nimport torch.nn as nn\n"
    + "".join(f"{n} = nn.Dropout()\n" for n in "abcdefgh")
    + "for step in range(10):\n"
    + "".join(f"    {a} = {b}\n" for a, b in zip("hgfedcb", "gfedcba", strict=True))
    + "    a.eval()\n"
)


def test_a_clean_analysis_is_ok() -> None:
    result = analyze(EVAL_LOOP, "val.py")
    assert result.outcome == OK
    assert sorted(f.code for f in result.findings) == ["TM001", "TM002"]


def test_a_parse_error_has_its_position() -> None:
    result = analyze("import torch\ndef f(:\n    pass\n", "bad.py")
    assert isinstance(result.outcome, ParseError)
    assert (result.outcome.line, result.outcome.col) == (1, 6)
    assert result.findings == []


def test_a_failing_rule_costs_only_its_own_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fa: object) -> list[object]:
        raise KeyError("no such event")

    monkeypatch.setitem(rules.CHECKS, "TM002", broken)
    result = analyze(EVAL_LOOP, "val.py")
    assert [f.code for f in result.findings] == ["TM001"]
    outcome = result.outcome
    assert isinstance(outcome, InternalError)
    assert outcome.where == "rule TM002"
    assert outcome.exception == "KeyError: 'no such event'"
    assert "in broken" in outcome.traceback


def test_an_engine_failure_is_an_internal_error_not_a_syntax_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from torchmode.analysis import flow

    def crash(self: object, lines: object = None) -> None:
        raise ValueError("state lost")

    monkeypatch.setattr(flow.Interpreter, "run_all", crash)
    outcome = analyze(EVAL_LOOP, "val.py").outcome
    assert isinstance(outcome, InternalError) and outcome.where == "analysis"
    assert outcome.exception == "ValueError: state lost"


def test_the_loop_iteration_cap_makes_a_partial_analysis() -> None:
    outcome = analyze(LOOP_CAP, "cap.py").outcome
    assert outcome == Partial("loop iteration cap reached", ("loop at line 11 in <module>",))


def test_cli_prints_an_internal_error_as_one_line_and_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken(fa: object) -> list[object]:
        raise KeyError("no such event")

    monkeypatch.setitem(rules.CHECKS, "TM002", broken)
    (tmp_path / "val.py").write_text(EVAL_LOOP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    status = main(["check", "val.py", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert status == 2
    assert err.splitlines()[0] == (
        "val.py: error: internal error in rule TM002: KeyError: 'no such event'")
    assert "Traceback" not in err
    assert "TM001" in out      # the other rules' findings are still reported


def test_cli_notes_a_partial_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cap.py").write_text(LOOP_CAP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    status = main(["check", "cap.py", "--jobs", "1"])
    err = capsys.readouterr().err
    assert status == 0
    assert ("cap.py: note: partial analysis: loop iteration cap reached "
            "(loop at line 11 in <module>); findings may be missing") in err.splitlines()


def test_a_parse_error_column_is_measured_in_the_analysed_text(tmp_path: Path) -> None:
    """The file on disk says something else at that line (a notebook's JSON, an
    unsaved editor buffer): the column is still the one in the analysed text."""
    on_disk = tmp_path / "edited.py"
    on_disk.write_text("x = 1\n\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9 = (((((((\n", encoding="utf-8")
    outcome = analyze("x = 1\none_hot_data = pass\n", str(on_disk)).outcome
    assert outcome == ParseError(1, 15, "invalid syntax")
