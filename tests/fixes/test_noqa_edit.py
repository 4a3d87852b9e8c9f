"""The "ignore this line" edit: placement, merging, and agreement with torchmode.noqa."""

from __future__ import annotations

import pytest
from torchmode import noqa
from torchmode.fixes import apply_edits, noqa_edit
from torchmode.fixes.textedit import split_lines

from fixes.helpers import finding


def _ignored(text: str, code: str, line: int, character: int = 0) -> str:
    f = finding(code, line, character)
    result = apply_edits(text, [noqa_edit(text, f)])
    assert noqa.is_suppressed(split_lines(result), f), "torchmode.noqa must accept the comment"
    return result


@pytest.mark.parametrize(("line", "expected"), [
    ("y = model(x)\n", "y = model(x)  # noqa: TM001\n"),
    ("y = model(x)   \n", "y = model(x)  # noqa: TM001   \n"),
    ("y = model(x)  # 模型 😀\n", "y = model(x)  # 模型 😀  # noqa: TM001\n"),
    ("y = model(x)  # noqa: E501\n", "y = model(x)  # noqa: E501, TM001\n"),
    ("y = model(x)  # noqa:E501,W291\n", "y = model(x)  # noqa:E501,W291,TM001\n"),
    ("y = model(x)  # noqa: E501 W291\n", "y = model(x)  # noqa: E501 W291 TM001\n"),
    ("y = model(x)  # NOQA: TM002  # more\n", "y = model(x)  # NOQA: TM002, TM001  # more\n"),
    ("y = model(x)\r\n", "y = model(x)  # noqa: TM001\r\n"),
    ("y = model(x)", "y = model(x)  # noqa: TM001"),
])
def test_noqa_added_or_merged(line: str, expected: str) -> None:
    assert _ignored(line, "TM001", 0) == expected


@pytest.mark.parametrize("line", ["y = model(x)  # noqa\n", "y = model(x)  # noqa: TM001\n",
                                  "y = model(x)  # noqa: E501, tm001\n"])
def test_noqa_already_covers(line: str) -> None:
    edit = noqa_edit(line, finding("TM001", 0))
    assert edit.new_text == "" and edit.range.start == edit.range.end
    assert apply_edits(line, [edit]) == line


def test_noqa_after_closing_quotes_of_multiline_string() -> None:
    text = 'y = model(x, """\nsome text\n""")\nz = 1\n'
    assert _ignored(text, "TM002", 0) == 'y = model(x, """\nsome text\n""")  # noqa: TM002\nz = 1\n'


def test_noqa_on_closing_line_of_open_bracket() -> None:
    text = "for x in val(\n    loader,\n):  # loop\n    model(x)\n"
    assert _ignored(text, "TM002", 0) == (
        "for x in val(\n    loader,\n):  # loop  # noqa: TM002\n    model(x)\n")


def test_noqa_after_backslash_continuation() -> None:
    text = "y = model(x) + \\\n    1\n"
    assert _ignored(text, "TM001", 0) == "y = model(x) + \\\n    1  # noqa: TM001\n"


def test_noqa_on_line_inside_outer_bracket() -> None:
    text = "outs = [\n    model(x),\n]\n"
    assert _ignored(text, "TM001", 1, 4) == "outs = [\n    model(x),  # noqa: TM001\n]\n"
