"""A finding names the model it is about (``subject``): the same across rewording,
kept through the LSP's Diagnostic.data round trip."""

from __future__ import annotations

from torchmode.analyzer import analyze
from torchmode.findings import Finding

SOURCE = (
    "import torch\n"
    "import torch.nn as nn\n\n"
    "net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"
    "opt = torch.optim.SGD(net.parameters(), lr=0.1)\n"
    "for x in train_loader:\n"
    "    net(x).sum().backward()\n"
    "    opt.step()\n"
    "for x in val_loader:\n"
    "    net(x)\n"
    "net.training = False\n"
    "with torch.no_grad():\n"
    "    net(1).backward()\n"
)


def test_findings_name_their_model() -> None:
    found = {(f.code, f.subject) for f in analyze(SOURCE, "subjects.py").findings}
    assert found == {("TM001", "net"), ("TM002", "net"), ("TM006", "net"), ("TM005", "net")}


def _subjects(source: str, code: str) -> list[str | None]:
    return [f.subject for f in analyze(source, "subjects.py").findings if f.code == code]


def test_a_backward_call_names_the_outermost_model_its_loss_comes_from() -> None:
    source = (
        "import torch\n"
        "import torch.nn as nn\n\n"
        "G = nn.Linear(2, 2)\n"
        "D = nn.Linear(2, 1)\n"
        "with torch.no_grad():\n"
        "    D(G(z)).sum().backward()\n"
        "    nn.functional.mse_loss(G(z), z).backward()\n"
        "    loss = D(z).sum()\n"
        "    loss.backward()\n"
    )
    assert _subjects(source, "TM005") == ["D", "G", None]


def test_a_functional_call_that_ignores_the_mode_names_its_module_class() -> None:
    source = (
        "import torch.nn as nn\n"
        "import torch.nn.functional as F\n\n"
        "class Encoder(nn.Module):\n"
        "    def forward(self, x):\n"
        "        return F.dropout(x, 0.5)\n\n"
        "class Decoder(nn.Module):\n"
        "    def forward(self, x):\n"
        "        return F.dropout(F.dropout(x, 0.1), 0.5)\n"
    )
    assert _subjects(source, "TM008") == ["Encoder", "Decoder", "Decoder"]


def test_a_train_call_that_undoes_a_freeze_names_the_model() -> None:
    source = (
        "import torch\n"
        "import torch.nn as nn\n"
        "import torch.nn.functional as F\n\n"
        "net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(),\n"
        "                    nn.LazyLinear(2))\n"
        "for module in net.modules():\n"
        "    if isinstance(module, nn.BatchNorm2d):\n"
        "        module.eval()\n"
        "optimizer = torch.optim.SGD(net.parameters(), lr=0.01)\n"
        "for epoch in range(10):\n"
        "    net.train()\n"
        "    for x, y in train_loader:\n"
        "        optimizer.zero_grad()\n"
        "        F.cross_entropy(net(x), y).backward()\n"
        "        optimizer.step()\n"
    )
    assert _subjects(source, "TM009") == ["net"]


def test_subject_survives_the_dict_round_trip() -> None:
    for finding in analyze(SOURCE, "subjects.py").findings:
        assert Finding.from_dict(finding.to_dict()) == finding


def test_fix_verification_tells_findings_apart_by_subject_not_wording() -> None:
    """A finding reworded after an edit is still the same finding; one about another
    model at the same place is not."""
    from dataclasses import replace

    from torchmode.fixes.verify import _still_reported

    [tm001] = [f for f in analyze(SOURCE, "subjects.py").findings if f.code == "TM001"]
    same = _Unmoved()
    reworded = replace(tm001, message="The network is in training mode here.")
    assert _still_reported(tm001, [reworded], same)  # type: ignore[arg-type]
    other = replace(tm001, subject="teacher", message=tm001.message)
    assert not _still_reported(tm001, [other], same)  # type: ignore[arg-type]


class _Unmoved:
    def map(self, position: object) -> object:
        return position


def test_fix_spec_takes_keywords_only() -> None:
    import pytest
    from torchmode.findings import FixSpec

    with pytest.raises(TypeError):
        FixSpec("insert-eval", "t", False, 0, 0, "m.eval()")  # type: ignore[misc]
    spec = FixSpec(kind="insert-eval", title="t", safe=False, target_line=0, target_end_line=0,
                   code="m.eval()")
    assert FixSpec.from_dict(spec.to_dict()) == spec
