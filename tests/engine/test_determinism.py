"""Cross-file answers do not depend on file names, indexing order, analysis order or
the number of worker processes.

The project is the three-hop chain ``main.py -> runner.py -> evaluation.py`` of
``tests/fixtures/rules/project_chain``: ``main.py`` puts a Dropout model in training
mode and hands it to ``validate_all()`` in the helper module, which passes it on to
``evaluate()``, a ``torch.no_grad()`` loop with no ``model.eval()``. The helper is
also named ``aaa_runner.py`` (sorted before the others) and ``zzz_runner.py``.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from torchmode.analyzer import analyze
from torchmode.cli import main as cli_main
from torchmode.project import ProjectIndex
from torchmode.solve import _components

CHAIN = Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "project_chain"
HELPER_NAMES = ("runner", "aaa_runner", "zzz_runner")


def make_project(tmp_path: Path, helper: str) -> Path:
    """The chain fixture in ``tmp_path``, its helper module named ``helper``."""
    root = tmp_path / helper
    root.mkdir()
    for source in CHAIN.glob("*.py"):
        text = source.read_text(encoding="utf-8").replace("from runner import",
                                                          f"from {helper} import")
        name = f"{helper}.py" if source.name == "runner.py" else source.name
        (root / name).write_text(text, encoding="utf-8")
    return root


def findings_in_order(files: list[Path], index_order: list[Path]) -> list[str]:
    """Analyse ``files`` one after the other with one index built in ``index_order``."""
    project = ProjectIndex.from_paths([str(p) for p in index_order])
    out: list[str] = []
    for path in files:
        result = analyze(path.read_text(encoding="utf-8"), str(path), project=project)
        out.extend(f"{path.name}:{f.range.start.line + 1}:{f.code}:{f.message}"
                   for f in result.findings)
    return sorted(out)


@pytest.mark.parametrize("helper", HELPER_NAMES)
def test_every_analysis_and_index_order_gives_the_same_findings(tmp_path: Path,
                                                               helper: str) -> None:
    root = make_project(tmp_path, helper)
    files = sorted(root.glob("*.py"))
    expected = findings_in_order(files, files)
    assert [line.split(":")[:3] for line in expected] == [["evaluation.py", "10", "TM001"]]
    assert "main.py" in expected[0]
    for order in itertools.permutations(files):
        assert findings_in_order(list(order), list(order)) == expected, order
        assert findings_in_order(list(order), list(reversed(order))) == expected, order


def run_check(root: Path, *args: str) -> str:
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = cli_main(["check", str(root), "--format", "json", "--exit-zero", *args])
    assert status == 0
    return out.getvalue().replace(str(root), "<root>")


def test_jobs_one_and_four_print_byte_identical_reports(tmp_path: Path) -> None:
    reports = set()
    for helper in HELPER_NAMES:
        root = make_project(tmp_path, helper)
        one = run_check(root, "--jobs", "1")
        four = run_check(root, "--jobs", "4")
        assert one == four
        reports.add(one)
    assert len(reports) == 1   # the helper's name changes nothing
    assert '"code": "TM001"' in reports.pop()


def test_a_cycle_of_files_is_solved_to_the_same_answer_from_any_entry(tmp_path: Path) -> None:
    """``a.py`` and ``b.py`` call each other; ``main.py`` starts the chain. Whichever
    file is analysed first, each gets the same findings."""
    (tmp_path / "a.py").write_text(
        "import torch\nfrom b import evaluate\n\n"
        "def validate(model, loader, depth):\n"
        "    if depth:\n"
        "        evaluate(model, loader, depth - 1)\n", encoding="utf-8")
    (tmp_path / "b.py").write_text(
        "import torch\nfrom a import validate\n\n"
        "def evaluate(model, loader, depth):\n"
        "    with torch.no_grad():\n"
        "        for x in loader:\n"
        "            model(x)\n"
        "    validate(model, loader, depth)\n", encoding="utf-8")
    (tmp_path / "main.py").write_text(
        "import torch.nn as nn\nfrom a import validate\n\n"
        "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"
        "validate(model, [], 3)\n", encoding="utf-8")
    files = sorted(tmp_path.glob("*.py"))
    expected = findings_in_order(files, files)
    assert [line.split(":")[:3] for line in expected] == [["b.py", "7", "TM001"]]
    for order in itertools.permutations(files):
        assert findings_in_order(list(order), list(order)) == expected


def test_components_come_callers_first_in_a_fixed_order() -> None:
    callers = {"eval": ["runner"], "runner": ["main", "other"], "main": [], "other": ["runner"]}
    order = list(_components("eval", lambda node: callers[node]))
    assert order == [["main"], ["other", "runner"], ["eval"]]


def test_facts_handed_out_do_not_change_when_the_index_does(tmp_path: Path) -> None:
    root = make_project(tmp_path, "runner")
    project = ProjectIndex.from_paths([str(p) for p in sorted(root.glob("*.py"))])
    facts = project.facts()
    evaluation = str(root / "evaluation.py")
    before = facts.caller_lookup(evaluation)("evaluate")
    assert before is not None and before.modes
    project.update(str(root / "main.py"), "import torch\n")
    assert project.facts() is not facts
    assert facts.caller_lookup(evaluation)("evaluate") == before
    after = project.facts().caller_lookup(evaluation)("evaluate")
    assert after is not None and not after.modes   # runner.py passes a model no one gave it


def test_facts_solved_at_once_equal_facts_solved_on_demand(tmp_path: Path) -> None:
    """The command line may solve everything before forking; the editor solves what
    an analysis asks for. Both give the same records."""
    root = make_project(tmp_path, "runner")
    paths = [str(p) for p in sorted(root.glob("*.py"))]
    eager = ProjectIndex.from_paths(paths).facts().solve_all()
    lazy = ProjectIndex.from_paths(list(reversed(paths))).facts()
    for path in reversed(paths):
        for function in ("evaluate", "validate_all"):
            assert lazy.caller_lookup(path)(function) == eager.caller_lookup(path)(function)
    assert eager.caller_lookup(str(root / "evaluation.py"))("evaluate") is not None


def test_the_editor_engine_and_the_cli_report_the_same_findings(tmp_path: Path) -> None:
    import json

    from torchmode.lsp.engine import ThreadEngine
    from torchmode.settings import DEFAULT_SETTINGS

    root = make_project(tmp_path, "runner")
    engine = ThreadEngine()
    assert engine.scan([str(root)], 60.0) == 4
    editor = sorted(
        (path.name, f.range.start.line, f.range.start.character, f.code, f.message)
        for path in sorted(root.glob("*.py"))
        for f in engine.analyze(path.read_text(encoding="utf-8"), str(path),
                                DEFAULT_SETTINGS).findings)
    cli = sorted(
        (Path(item["path"]).name, item["range"]["start"]["line"],
         item["range"]["start"]["character"], item["code"], item["message"])
        for item in json.loads(run_check(root, "--jobs", "1")))
    assert editor == cli and [f[3] for f in cli] == ["TM001"]
