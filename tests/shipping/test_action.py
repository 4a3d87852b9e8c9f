"""The composite GitHub Action (action.yml), its steps run in bash as a runner runs them.

The runner substitutes ``${{ ... }}`` in each step's ``env`` and ``if``, then runs the
script with ``bash --noprofile --norc -eo pipefail``. This test does the same with a
small evaluator that knows only the expressions action.yml may use, so a step written
any other way fails here instead of on GitHub.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import BUGGY, CLEAN, REPO

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _action() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "action.yml").read_text()))


def _value(expr: str, inputs: dict[str, str], context: dict[str, str]) -> str:
    if expr.startswith("inputs."):
        return inputs[expr.removeprefix("inputs.")]
    return context[expr]


def _condition(expr: str, inputs: dict[str, str], context: dict[str, str]) -> bool:
    match = re.fullmatch(r"([\w.-]+) != ''", expr)
    assert match, f"unsupported condition {expr!r}"
    return _value(match.group(1), inputs, context) != ""


def run_action(
    given: dict[str, str], workspace: Path, temp: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Run the steps as a runner does; stops after the first failing step, like a runner."""
    action = _action()
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    assert set(given) <= set(inputs), set(given) - set(inputs)
    inputs.update(given)
    context = {"github.action_path": str(REPO), "runner.temp": str(temp)}
    done = []
    for step in action["runs"]["steps"]:
        assert step["shell"] == "bash" and "${{" not in step["run"], step["name"]
        if "if" in step and not _condition(EXPR.fullmatch(step["if"]).group(1), inputs, context):  # type: ignore[union-attr]
            continue
        env = {
            k: EXPR.sub(lambda m: _value(m.group(1), inputs, context), str(v))
            for k, v in step["env"].items()
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workspace,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(temp), **env},
            capture_output=True,
            text=True,
            timeout=900,
        )
        done.append(proc)
        if proc.returncode != 0:
            break
    return done


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    (root / "src").mkdir()
    (root / "src" / "evaluate.py").write_text(BUGGY)
    (root / "src" / "clean.py").write_text(CLEAN)
    return root


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runner-temp")


def test_annotations_sarif_and_failure(workspace: Path, runner_temp: Path) -> None:
    """With the defaults, the action installs its own copy (the repository)."""
    (workspace / "out").mkdir()
    install, sarif, check = run_action(
        {"paths": "src", "sarif-file": "out/torchmode.sarif"}, workspace, runner_temp
    )
    assert install.returncode == 0, install.stderr
    assert install.stdout.strip().endswith("torchmode 0.1.0")
    assert sarif.returncode == 0, sarif.stderr
    log = json.loads((workspace / "out" / "torchmode.sarif").read_text())
    assert log["version"] == "2.1.0"
    rules = {r["ruleId"] for r in log["runs"][0]["results"]}
    assert rules == {"TM001", "TM002"}
    assert check.returncode == 1
    lines = check.stdout.splitlines()
    assert any(
        line.startswith("::warning file=src/evaluate.py,line=5,col=11,")
        and "title=TM001 missing-eval::" in line
        for line in lines
    ), check.stdout
    assert not any("clean.py" in line for line in lines)


def test_annotate_only(workspace: Path, runner_temp: Path, built_dist: dict[str, Path]) -> None:
    """`package` installs what it names (here the built wheel, as `torchmode==0.1.0` would)."""
    given = {"paths": "src/evaluate.py", "args": "--select TM001", "fail-on-findings": "false"}
    steps = run_action({**given, "package": str(built_dist["wheel"])}, workspace, runner_temp)
    assert [s.returncode for s in steps] == [0, 0]  # no SARIF step without sarif-file
    annotations = [line for line in steps[-1].stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1 and "TM001" in annotations[0]


def test_clean_code_passes(workspace: Path, runner_temp: Path, built_dist: dict[str, Path]) -> None:
    steps = run_action(
        {"paths": "src/clean.py", "package": str(built_dist["wheel"])}, workspace, runner_temp
    )
    assert [s.returncode for s in steps] == [0, 0]
    assert "::" not in steps[-1].stdout
