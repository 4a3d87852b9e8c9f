"""TM008/TM009 through the language server: diagnostics, hovers, verified quick fixes."""

from __future__ import annotations

from lsprotocol import types

from .conftest import Starter, apply_workspace_edit

SOURCE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(F.dropout(self.backbone(x), 0.5))


model = Net()
model.backbone.eval()
opt = torch.optim.SGD(model.head.parameters(), lr=0.1)
for x, y in loader:
    model.train()
    F.cross_entropy(model(x), y).backward()
    opt.step()
"""


def line_of(needle: str) -> int:
    return next(i for i, line in enumerate(SOURCE.splitlines()) if needle in line)


async def test_diagnostics_hovers_and_fixes(start: Starter) -> None:
    session = await start()
    uri = session.open("train.py", SOURCE)
    published = await session.diagnostics(uri, version=1)
    codes = {(d.code, d.range.start.line) for d in published}
    assert codes == {("TM008", line_of("F.dropout")), ("TM009", line_of("model.train()"))}

    line = line_of("F.dropout")
    hover = await session.hover(uri, line, SOURCE.splitlines()[line].index("dropout") + 1)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "defaults to `True`" in hover.contents.value

    line = line_of("model.train()")
    hover = await session.hover(uri, line, SOURCE.splitlines()[line].index("model") + 1)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "Held in eval here: model.backbone" in hover.contents.value

    tm009 = next(d for d in published if d.code == "TM009")
    actions = await session.code_actions(uri, [tm009])
    fixes = [a for a in actions if a.edit is not None and "Re-apply" in a.title]
    assert len(fixes) == 1
    assert apply_workspace_edit(session, fixes[0].edit)[uri] == SOURCE.replace(  # type: ignore[arg-type]
        "    model.train()\n", "    model.train()\n    model.backbone.eval()\n")
