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
    assert found == {("TM001", "net"), ("TM002", "net"), ("TM006", "net"), ("TM005", None)}


def test_subject_survives_the_dict_round_trip() -> None:
    for finding in analyze(SOURCE, "subjects.py").findings:
        assert Finding.from_dict(finding.to_dict()) == finding
