"""Notebooks (LSP 3.17 notebook sync): cells analysed together, results mapped per cell."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from .conftest import Session, Starter, apply_workspace_edit, vscode_capabilities

SETUP = """\
%matplotlib inline
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
"""
TRAIN = """\
for x, y in train_loader:
    optimizer.zero_grad()
    loss = (model(x) - y).pow(2).mean()
    loss.backward()
    optimizer.step()
"""
EVAL_CALL = "model.eval()\n"
VALIDATE = """\
with torch.no_grad():
    for x, y in val_loader:
        out = model(x)
"""

CELLS = [  # (kind, text)
    (types.NotebookCellKind.Code, SETUP),
    (types.NotebookCellKind.Markup, "# Training\nSome *markdown*."),
    (types.NotebookCellKind.Code, TRAIN),
    (types.NotebookCellKind.Code, EVAL_CALL),
    (types.NotebookCellKind.Code, VALIDATE),
]


def cell_uri(path: Path, index: int) -> str:
    return f"vscode-notebook-cell:{path}#W{index}sZmlsZQ%3D%3D"


def open_notebook(session: Session, name: str) -> tuple[str, list[str]]:
    path = session.root / name
    path.write_text("{}", encoding="utf-8")
    uri = path.as_uri()
    uris = [cell_uri(path, i) for i in range(len(CELLS))]
    for cell, (_, text) in zip(uris, CELLS, strict=True):
        session.texts[cell] = text
        session.versions[cell] = 1
    session.client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=uri,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[
                    types.NotebookCell(kind=kind, document=cell)
                    for cell, (kind, _) in zip(uris, CELLS, strict=True)
                ],
            ),
            cell_text_documents=[
                types.TextDocumentItem(
                    uri=cell,
                    version=1,
                    text=text,
                    language_id="python" if kind == types.NotebookCellKind.Code else "markdown",
                )
                for cell, (kind, text) in zip(uris, CELLS, strict=True)
            ],
        )
    )
    return uri, uris


def change_cell(
    session: Session, notebook: str, notebook_version: int, cell: str, text: str
) -> None:
    session.versions[cell] += 1
    session.texts[cell] = text
    session.client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(
                version=notebook_version, uri=notebook
            ),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(
                                uri=cell, version=session.versions[cell]
                            ),
                            changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                        )
                    ]
                )
            ),
        )
    )


async def test_eval_in_an_earlier_cell_counts_and_results_map_to_cells(start: Starter) -> None:
    session = await start(
        capabilities=vscode_capabilities(notebooks=True), init_options={"debounceMs": 0}
    )
    notebook, cells = open_notebook(session, "train.ipynb")
    # model.eval() in cell 3 covers the loop in cell 4: nothing to report anywhere.
    assert await session.diagnostics(cells[4], version=1) == []
    assert await session.diagnostics(cells[0], version=1) == []
    hover = await session.hover(cells[4], 2, 16)
    assert hover is not None
    assert "`eval` mode here (set on line 1 of cell 4)" in hover.contents.value  # type: ignore[union-attr]

    # Remove the eval() cell's call: the loop in cell 4 is reported, on cell 4's own line.
    change_cell(session, notebook, 2, cells[3], "pass\n")
    before = len(session.publishes_for(cells[4]))
    diagnostics = await session.diagnostics(cells[4], after=before)
    tm001 = next(d for d in diagnostics if d.code == "TM001")
    assert tm001.range == types.Range(types.Position(2, 14), types.Position(2, 22))
    assert "(constructed at cell 1, line 5;" in tm001.message  # lines named as the user sees them
    assert session.publishes_for(cells[4])[-1].version == 1  # the cell's own version

    # Hover in the cell maps to the joined program.
    hover = await session.hover(cells[4], 2, 16)
    assert hover is not None and "`train`" in hover.contents.value  # type: ignore[union-attr]

    # Quick fix edits land in the right cell, versioned with that cell's version.
    actions = await session.code_actions(cells[4], [tm001], only=["quickfix"])
    insert = next(
        a for a in actions if a.title.startswith("torchmode (TM001 missing-eval): Insert")
    )
    assert insert.edit is not None and insert.edit.document_changes
    change = insert.edit.document_changes[0]
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == cells[4] and change.text_document.version == 1
    new_texts = apply_workspace_edit(session, insert.edit)
    assert new_texts[cells[4]] == "model.eval()\n" + VALIDATE


async def test_notebook_fix_all_and_per_cell_fix_all_ignored(start: Starter) -> None:
    session = await start(
        capabilities=vscode_capabilities(notebooks=True), init_options={"debounceMs": 0}
    )
    notebook, cells = open_notebook(session, "nb.ipynb")
    await session.diagnostics(cells[4], version=1)
    change_cell(session, notebook, 2, cells[3], "model.eval\n")  # TM004: a safe fix
    before = len(session.publishes_for(cells[3]))
    diagnostics = await session.diagnostics(cells[3], after=before)
    assert "TM004" in {d.code for d in diagnostics}
    assert await session.code_actions(cells[3], [], only=["source.fixAll"]) == []
    actions = await session.code_actions(cells[0], [], only=["notebook.source.fixAll"])
    assert [a.kind for a in actions] == ["notebook.source.fixAll.torchmode"]
    action = actions[0]
    if action.edit is None:
        action = await session.client.code_action_resolve_async(action)
    assert action.edit is not None
    new_texts = apply_workspace_edit(session, action.edit)
    assert new_texts == {cells[3]: "model.eval()\n"}


async def test_closing_a_notebook_clears_its_cells(start: Starter) -> None:
    session = await start(
        capabilities=vscode_capabilities(notebooks=True), init_options={"debounceMs": 0}
    )
    notebook, cells = open_notebook(session, "c.ipynb")
    assert await session.diagnostics(cells[4], version=1) == []
    change_cell(session, notebook, 2, cells[3], "pass\n")
    before = len(session.publishes_for(cells[4]))
    assert await session.diagnostics(cells[4], after=before)
    before = len(session.publishes_for(cells[4]))
    session.client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=notebook),
            cell_text_documents=[types.TextDocumentIdentifier(uri=c) for c in cells],
        )
    )
    assert await session.diagnostics(cells[4], after=before) == []


async def test_pull_diagnostics_per_cell(start: Starter) -> None:
    session = await start(capabilities=vscode_capabilities(notebooks=True, pull=True))
    notebook, cells = open_notebook(session, "pull.ipynb")
    change_cell(session, notebook, 2, cells[3], "pass\n")

    async def pull(uri: str) -> list[types.Diagnostic]:
        report = await session.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
        return list(report.items)

    tm001 = [d for d in await pull(cells[4]) if d.code == "TM001"]
    assert [d.range.start.line for d in tm001] == [2]
    assert await pull(cells[0]) == []
    assert session.publishes == []


async def test_a_cell_that_does_not_parse_is_shown_as_not_analysed(start: Starter) -> None:
    """The CLI prints "cell N ... not analysed"; the editor shows it at the cell itself
    (RULES §2a), as information: the syntax error is the Python extension's to report."""
    session = await start(
        capabilities=vscode_capabilities(notebooks=True), init_options={"debounceMs": 0}
    )
    notebook, cells = open_notebook(session, "broken.ipynb")
    assert await session.diagnostics(cells[3], version=1) == []
    # An unfinished exercise in the eval() cell: that cell is left out, the rest analysed.
    before_validate = len(session.publishes_for(cells[4]))
    before = len(session.publishes_for(cells[3]))
    change_cell(session, notebook, 2, cells[3], "# TODO: evaluate\nmodel.eval(\n")
    [note] = await session.diagnostics(cells[3], after=before)
    assert note.source == "torchmode" and note.code is None
    assert note.severity == types.DiagnosticSeverity.Information
    assert note.range.start == types.Position(1, 0)
    assert note.message.startswith("torchmode did not analyse this cell: syntax error at line 2")
    assert "analysed as if this cell were empty" in note.message
    # ... so model.eval() is missing for the loop in cell 5, reported there as usual.
    validate = await session.diagnostics(cells[4], after=before_validate)
    assert "TM001" in {d.code for d in validate}
    assert await session.code_actions(cells[3], [note], only=["quickfix"]) == []

    # Finishing the cell removes the note.
    before = len(session.publishes_for(cells[3]))
    change_cell(session, notebook, 3, cells[3], "model.eval()\n")
    assert await session.diagnostics(cells[3], after=before) == []
