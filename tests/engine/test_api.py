"""The typed facts API: what rules read, and that they read nothing else of the engine."""

from __future__ import annotations

import ast
import json
import pickle
import textwrap
from pathlib import Path

from torchmode import rules
from torchmode.analysis.api import Facts, GradState, MisuseKind, ModeKind
from torchmode.analysis.domain import CallRecord
from torchmode.analysis.model import Mode
from torchmode.analyzer import analyze, build
from torchmode.reads import canonical
from torchmode.settings import DEFAULT_SETTINGS
from torchmode.source import SourceText, parse_python

RULES_DIR = Path(rules.__file__).parent


def _facts(src: str) -> Facts:
    text = "import torch\nimport torch.nn as nn\n" + textwrap.dedent(src)
    fa = build(parse_python(text), SourceText(text, "t.py"), "t.py", DEFAULT_SETTINGS, None)
    return Facts(fa)


def _engine_imports(path: Path) -> set[str]:
    """The ``torchmode.analysis`` modules a rule module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and "analysis" in node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if "analysis" in a.name)
    return found


def test_rules_import_only_the_facts_api_of_the_engine() -> None:
    modules = sorted(RULES_DIR.glob("*.py"))
    assert len(modules) >= 9
    for path in modules:
        assert _engine_imports(path) <= {"analysis.api"}, path.name


def test_rules_never_reach_into_the_interpreter() -> None:
    for path in sorted(RULES_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for private in (".interp", "mode_sets", ".how.endswith", "FileAnalysis"):
            assert private not in text, (path.name, private)


def test_forward_call_carries_enum_modes_grad_region_and_origin() -> None:
    facts = _facts("""
        model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
        model.train()
        with torch.no_grad():
            for x in val_loader:
                model(x)
    """)
    [call] = facts.forward_calls
    assert call.entity == "model"
    assert {m.kind for m in call.modes} == {ModeKind.TRAIN}
    assert call.grad == {GradState.OFF}
    assert call.region is not None and call.region.kind in ("loop", "nograd")
    assert call.origin is not None and call.origin.method_call and call.origin.line == 4
    switch = call.origin.switch
    assert switch is not None and switch.kind is ModeKind.TRAIN
    assert switch.function is call.function


def test_constructed_mode_is_not_a_method_call() -> None:
    facts = _facts("""
        model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
        model.train(True)
        model(1)
    """)
    [call] = facts.forward_calls
    assert [m.method_call for m in call.modes] == [False]


def test_misuses_are_reported_by_kind_not_by_rule_code() -> None:
    facts = _facts("""
        model = nn.Linear(2, 2)
        model.eval
        model.training = False
        model.train = None
        with torch.no_grad:
            pass
    """)
    kinds = [(m.kind, m.entity, m.name) for m in facts.misuses]
    assert kinds == [(MisuseKind.MODE_NOT_CALLED, "model", "eval"),
                     (MisuseKind.FLAG_ASSIGNED, "model", "training"),
                     (MisuseKind.MODE_METHOD_REPLACED, "model", "train"),
                     (MisuseKind.CONTEXT_NOT_CALLED, "torch.no_grad", "no_grad")]


def test_training_steps_and_backward_calls() -> None:
    facts = _facts("""
        model = nn.Linear(2, 2)
        opt = torch.optim.SGD(model.parameters(), 0.1)
        for x in loader:
            loss = model(x).sum()
            with torch.no_grad():
                loss.backward()
            opt.step()
    """)
    assert [s.node.lineno for s in facts.training_steps] == [9, 10]
    assert [b.grad for b in facts.backward_calls] == [{GradState.OFF}]


def test_modes_and_grad_states_are_the_same_enum_members_everywhere() -> None:
    """The facts carry the interpreter's own members; a caller record sent to a worker
    (pickled) keeps them, the text that compares records across processes names them,
    and what users see still spells them as words."""
    [call] = _facts("""
        model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
        with torch.no_grad():
            model(x)
    """).forward_calls
    [origin] = call.modes
    assert type(origin.kind) is ModeKind and {type(g) for g in call.grad} == {GradState}
    record = CallRecord({"model": {Mode(ModeKind.EVAL, 3)}}, {}, {GradState.OFF})
    copy = pickle.loads(pickle.dumps(record))
    [mode] = copy.modes["model"]
    assert mode.kind is ModeKind.EVAL and next(iter(copy.grad)) is GradState.OFF
    assert canonical(copy) == canonical(record)
    assert "ModeKind.EVAL" in canonical(record) and "GradState.OFF" in canonical(record)
    text = "import torch\nm = torch.nn.Dropout()\nwith torch.no_grad():\n    m(x)\n"
    [fact] = analyze(text, "t.py").forward_calls
    assert json.dumps(sorted(fact.modes)) == '["train"]' and f"{min(fact.modes)}" == "train"
