"""Evaluation regions, training steps, trained models (RULES.md §2) and the rules on them."""

from __future__ import annotations

from torchmode.settings import Settings

from .helpers import codes

MODEL = "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"


def test_loader_names_make_evaluation_loops() -> None:
    for name in ("val_loader", "self.valid_dl", "testloader", "dev_set", "holdout",
                 "loaders['val']", "tqdm(enumerate(eval_data))"):
        found = codes(MODEL + f"for x in {name}:\n    model(x)\n")
        assert found == [(2, "TM002"), (3, "TM001")], name
    for name in ("train_loader", "device_list", "intervals", "values"):
        assert codes(MODEL + f"for x in {name}:\n    model(x)\n") == [], name


def test_function_names_make_evaluation_regions() -> None:
    for name in ("evaluate", "eval_epoch", "validate", "validation_loop", "test", "predict",
                 "infer_batch", "inference"):
        found = codes(MODEL + f"def {name}(x):\n    return model(x)\n\n{name}(1)\n")
        assert [c for _, c in found] == ["TM001", "TM002"], name
    assert codes(MODEL + "def evalx(x):\n    return model(x)\n\nevalx(1)\n") == []


def test_extra_patterns_from_settings() -> None:
    settings = Settings(evaluation_function_names=("score_*",),
                        evaluation_loader_names=("*_holdback",))
    found = codes(MODEL + "def score_all(x):\n    return model(x)\n\nscore_all(1)\n"
                  "for x in data_holdback:\n    model(x)\n", settings=settings)
    assert sorted(c for _, c in found) == ["TM001", "TM001", "TM002", "TM002"]


def test_region_reaching_a_training_step_is_not_evaluation() -> None:
    assert codes(MODEL + """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x in dev_loader:
    model(x).sum().backward()
    optimizer.step()
""") == []


def test_pytest_files_and_smoke_tests_are_not_evaluation() -> None:
    src = MODEL + "def test_forward():\n    with torch.no_grad():\n        model(x)\n"
    assert codes(src, path="test_model.py") == []
    assert codes(src, path="tests/conftest.py") == []
    smoke = MODEL + "with torch.no_grad():\n    out = model(torch.randn(1, 2))\n"
    assert codes(smoke) == []


def test_lightning_hooks_are_never_reported() -> None:
    assert codes("""
import lightning as L

class Lit(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))

    def validation_step(self, batch, idx):
        return self.net(batch)

    def test_step(self, batch, idx):
        with torch.no_grad():
            return self.net(batch)
""") == []


def test_inference_script_needs_a_load_and_no_training() -> None:
    script = MODEL + """
model.load_state_dict(torch.load("model.pt"))
for image in images:
    print(model(image))
"""
    assert sorted(c for _, c in codes(script)) == ["TM001", "TM002"]
    training = script + """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model(1).sum().backward()
optimizer.step()
"""
    assert codes(training) == []


def test_torch_load_is_unknown_but_reported_in_evaluation() -> None:
    found = codes("""
model = torch.load("model.pt")
with torch.no_grad():
    for x in val_loader:
        model(x)
""")
    assert found == [(5, "TM001")]


def test_from_pretrained_transformers_is_eval_own_class_is_train() -> None:
    assert codes("""
from transformers import AutoModel
model = AutoModel.from_pretrained("bert-base-uncased")
with torch.no_grad():
    for batch in val_loader:
        model(**batch)
""") == []
    found = codes("""
class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.1)

    @classmethod
    def from_pretrained(cls, name):
        return cls()

model = GPT.from_pretrained("gpt2")
with torch.no_grad():
    for batch in val_loader:
        model(batch)
""")
    assert found == [(14, "TM001")]


def test_gradient_use_silences_tm002_not_tm001() -> None:
    found = codes(MODEL + """
for x, y in test_loader:
    x.requires_grad_(True)
    loss = model(x).sum()
    loss.backward()
    adv = x + 0.1 * x.grad.sign()
""")
    assert [c for _, c in found] == ["TM001"]


def test_teacher_in_training_loop_no_grad_is_reported_student_is_not() -> None:
    found = codes("""
teacher = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
teacher.load_state_dict(torch.load("t.pt"))
student = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
for x in train_loader:
    with torch.no_grad():
        t = teacher(x)
        s_detached = student(x)
    loss = (student(x) - t).pow(2).sum()
    loss.backward()
    optimizer.step()
""")
    assert found == [(8, "TM001")]


def test_after_eval_without_training_step_wants_no_grad() -> None:
    found = codes(MODEL + "model.eval()\nout = model(1)\n")
    assert found == [(3, "TM002")]


def test_layerless_model_is_a_hint() -> None:
    from .helpers import run
    result = run("""
class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)

probe = Probe()
with torch.no_grad():
    for x in val_loader:
        probe(x)
""")
    (finding,) = result.findings
    assert finding.severity.label == "hint"
    assert "Probe has no mode-dependent layers" in finding.message


def test_method_takes_self_model_mode_from_init() -> None:
    found = codes("""
class Evaluator:
    def __init__(self):
        self.model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))

    def run(self, val_loader):
        with torch.no_grad():
            for x in val_loader:
                self.model(x)
""")
    assert found == [(9, "TM001")]


def test_method_with_other_mode_switching_methods_is_unknown() -> None:
    assert codes("""
class Evaluator:
    def __init__(self):
        self.model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))

    def prepare(self):
        self.model.eval()

    def run(self, val_loader):
        with torch.no_grad():
            for x in val_loader:
                self.model(x)
""") == []


def test_noise_made_outside_the_loop_is_not_a_smoke_test() -> None:
    found = codes("""
netG = nn.Sequential(nn.Linear(8, 4), nn.BatchNorm1d(4))
optG = torch.optim.Adam(netG.parameters())
fixed = torch.randn(16, 8)
for epoch in range(3):
    for z in loader:
        netG(z).mean().backward()
        optG.step()
    with torch.no_grad():
        samples = netG(fixed)
""")
    assert found == [(10, "TM001")]
    probe = "net = nn.Sequential(nn.Linear(8, 4), nn.Dropout(0.5))\nx = torch.randn(1, 8)\n" \
        "with torch.no_grad():\n    print(net(x).shape)\n"
    assert codes(probe) == []


def test_scheduler_step_is_not_a_training_step() -> None:
    assert codes(MODEL + """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
lr_sched = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
for epoch in range(3):
    model.eval()
    scheduler.step()
    lr_sched.step()
""") == []
