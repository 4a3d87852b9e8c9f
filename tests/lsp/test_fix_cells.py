"""Complete fixes in notebooks: each edit lands in the cell it belongs to.

The engine works on the joined code cells; an edit that adds a line after the last
line of a cell (the helper's restore, ``model.train()`` after a call that ends a
cell) must stay in that cell, not slip to the top of the next one.
"""

from __future__ import annotations

from lsprotocol import types
from torchmode.analyzer import analyze
from torchmode.fixes import offered_fixes
from torchmode.lsp.actions import workspace_edit
from torchmode.lsp.convert import Encoding
from torchmode.lsp.documents import notebook_snapshot

SETUP = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
"""

HELPER = """\
def evaluate(model, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    print(correct)"""

TRAIN = """\
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    evaluate(model, val_loader)"""


def _cell_edits(cells: list[str]) -> tuple[list[str], dict[str, list[types.TextEdit]]]:
    uris = [f"vscode-notebook-cell:/nb.ipynb#C{i}" for i in range(len(cells))]
    code_cells = [(i, uri, 1, text) for i, (uri, text) in enumerate(zip(uris, cells, strict=True))]
    snap = notebook_snapshot("file:///nb.ipynb", 1, "/nb.ipynb", code_cells)
    tm001 = next(f for f in analyze(snap.text, snap.path).findings if f.code == "TM001")
    fix = offered_fixes(snap.text, snap.path, tm001)[0]
    edit = workspace_edit(snap, list(fix.edits), Encoding(), True)
    assert edit is not None and edit.document_changes is not None
    per_cell = {}
    for change in edit.document_changes:
        assert isinstance(change, types.TextDocumentEdit)
        per_cell[change.text_document.uri] = list(change.edits)
    return uris, per_cell


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """LSP semantics: inserts at one position come out in the order of the list."""
    lines = text.split("\n")
    order = sorted(enumerate(edits), reverse=True,
                   key=lambda p: (p[1].range.start.line, p[1].range.start.character, p[0]))
    for _, edit in order:
        start, end = edit.range.start, edit.range.end
        head = "\n".join(lines[:start.line] + [lines[start.line][:start.character]])
        tail = "\n".join([lines[end.line][end.character:]] + lines[end.line + 1:])
        lines = (head + edit.new_text + tail).split("\n")
    return "\n".join(lines)


def test_train_after_a_call_that_ends_its_cell_stays_in_that_cell() -> None:
    cells = [SETUP, HELPER, TRAIN, "print('done')"]
    uris, per_cell = _cell_edits(cells)
    assert set(per_cell) == {uris[1], uris[2]}
    assert _apply(cells[1], per_cell[uris[1]]).startswith(
        "def evaluate(model, loader):\n    model.eval()\n    correct = 0\n")
    assert _apply(cells[2], per_cell[uris[2]]) == TRAIN + "\n    model.train()"


def test_restore_at_the_end_of_a_helper_that_ends_its_cell_stays_in_that_cell() -> None:
    twice = TRAIN + "\n    evaluate(model, test_loader)"
    cells = [SETUP, HELPER, twice, "print('done')"]
    uris, per_cell = _cell_edits(cells)
    assert set(per_cell) == {uris[1]}
    assert _apply(cells[1], per_cell[uris[1]]) == HELPER.replace(
        "    correct = 0\n", "    was_training = model.training\n    model.eval()\n"
        "    correct = 0\n") + "\n    model.train(was_training)"
