"""Rule messages, ranges, fix specs, settings, noqa, and the facts for hovers."""

from __future__ import annotations

from torchmode.findings import FixKind, Severity
from torchmode.rules import RULES, FixApplicability
from torchmode.settings import Settings

from .helpers import codes, run

MODEL = "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"


def test_registry_has_every_rule_with_fix_safety() -> None:
    assert sorted(RULES) == [f"TM00{i}" for i in range(1, 10)]
    assert RULES["TM004"].fix_applicability is FixApplicability.SAFE
    assert RULES["TM005"].fix_applicability is FixApplicability.NONE
    assert {RULES[c].fix_applicability for c in ("TM001", "TM002", "TM003", "TM006", "TM007",
                                                 "TM008", "TM009")} == {FixApplicability.UNSAFE}


def test_tm001_message_names_model_and_line() -> None:
    result = run(MODEL + "with torch.no_grad():\n    for x in val_loader:\n        model(x)\n")
    (finding,) = result.findings
    assert finding.code == "TM001"
    assert finding.message.startswith(
        "model may still be in training mode here (constructed at line 3; no model.eval() "
        "before this block).")
    (fix,) = finding.fixes
    assert fix.kind == FixKind.INSERT_EVAL and not fix.safe
    assert fix.title == "Insert model.eval() before the with block"
    assert (fix.target_line, fix.code) == (3, "model.eval()")


def test_tm002_fixes_use_the_file_spelling() -> None:
    body = MODEL.replace("nn.", "torch.nn.") + "model.eval()\nfor x in val_loader:\n    model(x)\n"
    alias = run("import torch as th\n" + body.replace("torch.", "th."), header=False)
    (finding,) = alias.findings
    assert [f.code for f in finding.fixes] == ["th.no_grad()", "th.inference_mode()"]
    assert finding.fixes[0].title == "Wrap the loop in with th.no_grad():"
    assert finding.fixes[0].import_line is None
    direct = run("import torch\nfrom torch import no_grad\n" + body, header=False)
    assert direct.findings[0].fixes[0].code == "no_grad()"
    bare = run("import torch.nn\n" + body.replace("torch.nn.", "torch.nn.").replace(
        "import torch\n", ""), header=False)
    assert bare.findings[0].fixes[0].code == "torch.no_grad()"


def test_tm002_in_function_offers_decorator_and_reports_loop_header() -> None:
    result = run(MODEL + """
def evaluate(m):
    m.eval()
    for x in val_loader:
        m(x)

evaluate(model)
""")
    (finding,) = result.findings
    assert finding.code == "TM002"
    assert (finding.range.start.line, finding.range.start.character) == (6, 4)
    assert finding.range.end.line == 6
    kinds = [f.kind for f in finding.fixes]
    assert kinds == [FixKind.WRAP_NO_GRAD, FixKind.WRAP_INFERENCE_MODE, FixKind.DECORATE_NO_GRAD]
    assert finding.fixes[2].title == "Decorate evaluate() with @torch.no_grad()"
    assert finding.fixes[0].preferred


def test_tm003_fix_inserts_train_where_training_starts() -> None:
    result = run(MODEL + """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x in train_loader:
        model(x).sum().backward()
        optimizer.step()
    model.eval()
""")
    (finding,) = result.findings
    assert finding.code == "TM003"
    assert finding.range.start.line == 9
    # the first training step of the iteration (the backward; optimizer.step() follows)
    assert finding.related and finding.related[0].range.start.line == 7
    (fix,) = finding.fixes
    # before `for x in train_loader:` (0-based line 6), inside the epoch loop
    assert (fix.kind, fix.target_line, fix.code) == (FixKind.INSERT_TRAIN, 6, "model.train()")
    assert fix.title == "Insert model.train() before the training step"


def test_tm004_bare_mode_and_context_without_call() -> None:
    result = run(MODEL + "model.eval\nwith torch.no_grad:\n    pass\n")
    assert [f.code for f in result.findings] == ["TM004", "TM004"]
    fix = result.findings[0].fixes[0]
    assert fix.safe and fix.kind == FixKind.ADD_CALL_PARENS and fix.code == "model.eval()"
    assert result.findings[0].fixes[0].title == "Add () to call model.eval"
    assert result.findings[1].fixes[0].code == "torch.no_grad()"
    # the intended mode is tracked: no follow-on TM001
    assert codes(MODEL + "model.eval\nwith torch.no_grad():\n    for x in val_loader:\n"
                 "        model(x)\n") == [(2, "TM004")]


def test_tm005_backward_in_no_grad_unless_enable_grad() -> None:
    assert codes(MODEL + "with torch.no_grad():\n    model(1).sum().backward()\n") == [
        (3, "TM005")]
    only = Settings(select=("TM005",))
    assert codes(MODEL + "with torch.no_grad():\n    with torch.enable_grad():\n"
                 "        model(1).sum().backward()\n", settings=only) == []
    assert codes(MODEL + "opt = torch.optim.SGD(model.parameters())\n"
                 "with torch.no_grad():\n    opt.step()\n") == []


def test_tm006_flag_assignment() -> None:
    result = run(MODEL + "model.training = False\nmodel.eval = None\nargs.training = True\n")
    assert [f.code for f in result.findings] == ["TM006", "TM006"]
    fix = result.findings[0].fixes[0]
    assert fix.title == "Replace model.training = False with model.eval()"
    assert fix.kind == FixKind.FLAG_TO_METHOD and fix.code == "model.eval()"


def test_tm007_export_in_training_mode() -> None:
    found = codes(MODEL + "example = torch.randn(1, 2)\ntraced = torch.jit.trace(model, example)\n"
                  "model.eval()\nok = torch.jit.trace(model, example)\n")
    assert found == [(3, "TM007")]


def test_settings_select_ignore_and_severity() -> None:
    src = MODEL + "model.eval\nwith torch.no_grad():\n    model(1).sum().backward()\n"
    assert [c for _, c in codes(src, settings=Settings(select=("TM005",)))] == ["TM005"]
    assert [c for _, c in codes(src, settings=Settings(ignore=("TM004",)))] == ["TM005"]
    result = run(src, settings=Settings(severity={"TM004": Severity.WARNING}))
    assert [f.severity for f in result.findings] == [Severity.WARNING, Severity.ERROR]


def test_noqa_comments() -> None:
    assert codes(MODEL + "model.eval  # noqa\n") == []
    assert codes(MODEL + "model.eval  # noqa: TM004\n") == []
    assert codes(MODEL + "model.eval  # noqa: TM001, TM002\n") == [(2, "TM004")]


def test_utf16_columns_with_cjk_and_emoji() -> None:
    result = run("model = nn.Dropout(0.5)\nx = '日本🎉'; model.eval\n")
    (finding,) = result.findings
    # x = '日本🎉';  -> 5 + 2 + 2 (emoji is a surrogate pair) + 3
    assert (finding.range.start.character, finding.range.end.character) == (12, 22)


def test_forward_facts_and_entities_for_hovers() -> None:
    result = run("""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Dropout(0.5)
        self.b = nn.Dropout(0.1)
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x):
        return self.bn(self.b(self.a(x)))

model = Net()
model.eval()
with torch.no_grad():
    model(1)
""")
    (fact,) = [f for f in result.forward_calls if f.entity == "model"]
    assert fact.modes == {"eval"} and fact.grad_enabled is False and fact.set_at_line == 14
    occurrence = [e for e in result.entities if e.entity == "model"][-1]
    assert occurrence.modes == {"eval"} and occurrence.class_name == "Net"
    assert occurrence.layers == "Dropout(p=0.5) x1, Dropout(p=0.1) x1, BatchNorm2d x1"
