"""Notebook cells joined as one program: magics masked in place, lines mapped back."""

from __future__ import annotations

import json

import pytest
from torchmode.analyzer import analyze
from torchmode.notebook import NotebookText


def test_line_magics_become_comments_without_moving_columns() -> None:
    nb = NotebookText.from_cells([(0, "%matplotlib inline\n!pip list\nx = 1\n")])
    assert nb.text == "#matplotlib inline\n#pip list\nx = 1\n"


def test_cell_magic_cell_is_left_out_but_keeps_its_lines() -> None:
    nb = NotebookText.from_cells([(0, "%%bash\necho hi\nls"), (2, "x = 1\n")])
    assert nb.text == "\n\n\nx = 1\n"
    assert nb.locate(3).cell == 2 and nb.locate(3).line == 0


def test_state_flows_across_cells_and_findings_map_to_their_cell() -> None:
    cells = [
        {"cell_type": "code", "source": ["import torch\n", "from torch import nn\n",
                                         "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())\n"]},
        {"cell_type": "markdown", "source": "# Validation"},
        {"cell_type": "code", "source": "%%time\nprint('timing')\n"},
        {"cell_type": "code", "source": "with torch.no_grad():\n    for x in val_loader:\n"
                                        "        model(x)\n"},
    ]
    nb = NotebookText.from_ipynb(json.dumps({"cells": cells}))
    result = analyze(nb.text, "nb.ipynb")
    assert result.syntax_error is None
    [finding] = result.findings
    where = nb.locate(finding.range.start.line)
    assert (finding.code, where.cell, where.line) == ("TM001", 3, 2)


@pytest.mark.parametrize("data", ["not json", "[]", '{"cells": 3}'])
def test_malformed_notebook_is_a_clear_error(data: str) -> None:
    with pytest.raises(ValueError, match="not a valid notebook"):
        NotebookText.from_ipynb(data)


def test_modulo_on_a_continuation_line_is_not_a_magic() -> None:
    source = 'print("%d of %d"\n      % (a, b))\nx = (10\n%3)\ns = """\n%keep\n"""\n%time f()\n'
    nb = NotebookText.from_cells([(0, source)])
    assert nb.text == ('print("%d of %d"\n      % (a, b))\nx = (10\n%3)\ns = """\n%keep\n"""\n'
                       "#time f()\n")
    assert nb.broken == ()


def test_block_of_only_magics_gets_pass() -> None:
    source = "if a:\n    x = 1\nelif b:\n    %time f()\n    !ls\n"
    nb = NotebookText.from_cells([(0, source)])
    assert nb.text == "if a:\n    x = 1\nelif b:\n    pass  #time f()\n    pass  #ls\n"
    assert nb.broken == ()


def test_broken_cell_is_left_out_and_located_in_its_cell() -> None:
    nb = NotebookText.from_cells([(0, "import torch\n"), (3, "x = 1\ny = (:\n"),
                                  (4, "z = 2\n")])
    assert nb.text == "import torch\n\n\nz = 2\n"
    [cell] = nb.broken
    assert (cell.cell, cell.line, cell.column) == (3, 1, 5)
    assert cell.describe().startswith("cell 4, line 2, column 6: not analysed (syntax error")
    assert nb.locate(3).cell == 4
