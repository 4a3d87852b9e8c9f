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
