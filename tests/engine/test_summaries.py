"""Function summaries and caller-passed modes, in one file and across files."""

from __future__ import annotations

from pathlib import Path

from torchmode.analyzer import analyze
from torchmode.project import ProjectIndex

from .helpers import codes, facts

MODEL = "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"


def test_helper_setting_eval_changes_the_caller() -> None:
    got = facts(MODEL + """
def freeze(m):
    m.eval()

freeze(model)
model(1)
""")
    assert got["model(1)"].modes == {"eval"}
    assert got["model(1)"].set_at_line is not None


def test_restoring_helper_leaves_the_mode() -> None:
    got = facts(MODEL + """
def score(m):
    was_training = m.training
    m.eval()
    out = m(1)
    m.train(was_training)
    return out

score(model)
model(2)
""")
    assert got["model(2)"].modes == {"train"}


def test_train_flag_passed_through_a_parameter() -> None:
    got = facts(MODEL + """
def set_mode(m, training):
    m.train(training)

set_mode(model, False)
model(1)
set_mode(model, flag)
model(2)
""")
    assert got["model(1)"].modes == {"eval"}
    assert got["model(2)"].modes == {"dynamic"}


def test_parameter_mode_comes_from_callers() -> None:
    found = codes(MODEL + """
def evaluate(m, loader):
    with torch.no_grad():
        return [m(x) for x in loader]

evaluate(model, [])
""")
    assert found == [(5, "TM001")]


def test_parameter_with_no_caller_is_unknown() -> None:
    found = codes("""
def evaluate(m, loader):
    with torch.no_grad():
        return [m(x) for x in loader]
""")
    assert found == []


def test_method_summary_across_methods() -> None:
    found = codes(MODEL + """
class Runner:
    def __init__(self, model):
        self.model = model
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1)

    def fit(self, loader):
        for epoch in range(3):
            for x in loader:
                self.model(x).sum().backward()
                self.opt.step()
            self.validate(loader)

    def validate(self, loader):
        self.model.eval()
        with torch.no_grad():
            return [self.model(x) for x in loader]

Runner(model).fit([])
""")
    assert (13, "TM003") in found


def test_cross_file_summary_and_caller_modes(tmp_path: Path) -> None:
    (tmp_path / "utils.py").write_text(
        "import torch\n\n"
        "def evaluate(model, loader):\n"
        "    model.eval()\n"
        "    with torch.no_grad():\n"
        "        return [model(x) for x in loader]\n\n"
        "@torch.no_grad()\n"
        "def predict(model, loader):\n"
        "    return [model(x) for x in loader]\n", encoding="utf-8")
    (tmp_path / "train.py").write_text(
        "import torch\n"
        "import torch.nn as nn\n"
        "from utils import evaluate, predict\n\n"
        "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "for epoch in range(2):\n"
        "    for x in []:\n"
        "        model(x).sum().backward()\n"
        "        optimizer.step()\n"
        "    evaluate(model, [])\n"
        "model.train()\n"
        "predict(model, [])\n", encoding="utf-8")
    paths = [str(tmp_path / "utils.py"), str(tmp_path / "train.py")]
    project = ProjectIndex.from_paths(paths)
    train = analyze(Path(paths[1]).read_text(), paths[1], project=project)
    assert [(f.range.start.line + 1, f.code) for f in train.findings] == [(11, "TM003")]
    utils = analyze(Path(paths[0]).read_text(), paths[0], project=project)
    assert [(f.range.start.line + 1, f.code) for f in utils.findings] == [(10, "TM001")]
    assert "train.py" in utils.findings[0].message
    # without the index, the helper's parameter has no visible caller
    alone = analyze(Path(paths[0]).read_text(), paths[0])
    assert alone.findings == []


def test_project_index_resolves_classes_for_layer_hints(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\n"
        "class Probe(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(2, 2)\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n", encoding="utf-8")
    main = tmp_path / "main.py"
    main.write_text(
        "import torch\nfrom models import Probe\n\n"
        "probe = Probe()\n"
        "with torch.no_grad():\n"
        "    for x in val_loader:\n"
        "        probe(x)\n", encoding="utf-8")
    project = ProjectIndex.from_paths([str(tmp_path / "models.py"), str(main)])
    result = analyze(main.read_text(), str(main), project=project)
    assert [(f.code, f.severity.label) for f in result.findings] == [("TM001", "hint")]
    assert "no mode-dependent layers" in result.findings[0].message
    project.remove(str(tmp_path / "models.py"))
    result = analyze(main.read_text(), str(main), project=project)
    assert result.findings == []  # Probe unknown: not an entity we can judge


def test_contextmanager_helper_applies_until_yield() -> None:
    got = facts(MODEL + """
import contextlib

@contextlib.contextmanager
def evaluating(m):
    was = m.training
    m.eval()
    try:
        yield m
    finally:
        m.train(was)

with evaluating(model):
    model(1)
model(2)
""")
    assert got["model(1)"].modes == {"eval"}
    assert got["model(2)"].modes == {"train"}
