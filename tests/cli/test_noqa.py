"""Unit tests for ``torchmode.noqa``."""

from __future__ import annotations

import pytest
from torchmode.findings import Finding, Range, Severity
from torchmode.noqa import is_suppressed, noqa_codes, noqa_line, statement_end_line


def _finding(line: int, code: str = "TM001") -> Finding:
    return Finding(code, "missing-eval", "msg", Severity.WARNING, Range.of(line, 0, line, 5))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("x = 1", None),
        ("model(x)  # noqa", frozenset()),
        ("model(x)  #noqa", frozenset()),
        ("model(x)  # NOQA", frozenset()),
        ("model(x)  # NoQa: TM001", frozenset({"TM001"})),
        ("model(x)  # noqa: TM001,TM002", frozenset({"TM001", "TM002"})),
        ("model(x)  # noqa:TM001, TM002", frozenset({"TM001", "TM002"})),
        ("model(x)  # noqa: TM001 TM002", frozenset({"TM001", "TM002"})),
        ("model(x)  # noqa: tm003", frozenset({"TM003"})),
        ("model(x)  # noqa: E501, TM001", frozenset({"TM001"})),
        ("model(x)  # noqa: E501", None),  # other tools only: nothing of ours
        ("model(x)  # noqa: E501,W291", None),
        ("model(x)  # type: ignore  # noqa: TM002", frozenset({"TM002"})),
        ("model(x)  # noqa:", frozenset()),  # like flake8: a colon without codes is blanket
        ("# this is not a noqa comment", None),
        ("model(x)  # fine", None),
    ],
)
def test_noqa_codes(line: str, expected: frozenset[str] | None) -> None:
    assert noqa_codes(line) == expected


def test_suppressed_on_start_line() -> None:
    lines = ["import torch\n", "out = model(x)  # noqa: TM001\n"]
    assert is_suppressed(lines, _finding(1, "TM001"))
    assert not is_suppressed(lines, _finding(1, "TM002"))
    assert not is_suppressed(lines, _finding(0, "TM001"))


def test_bare_noqa_suppresses_all_codes() -> None:
    lines = ["out = model(x)  # noqa\r\n"]
    for code in ("TM001", "TM002", "TM007"):
        assert is_suppressed(lines, _finding(0, code))


def test_other_tool_codes_do_not_suppress() -> None:
    assert not is_suppressed(["out = model(x)  # noqa: E501\n"], _finding(0))


def test_multiline_string_accepts_closing_line() -> None:
    lines = [
        'out = model(x, """first\n',
        "second\n",
        '""")  # noqa: TM001\n',
        "y = 2\n",
    ]
    assert statement_end_line(lines, 0) == 2
    assert noqa_line(lines, 0) == 2
    assert is_suppressed(lines, _finding(0))
    assert not is_suppressed(lines, _finding(0, "TM002"))


def test_bracket_accepts_closing_line_but_noqa_goes_on_start_line() -> None:
    lines = ["out = model(\n", "    x,\n", ")  # noqa: TM001\n", "z = 3  # noqa\n"]
    assert statement_end_line(lines, 0) == 2
    assert noqa_line(lines, 0) == 0  # a comment works on the first line of a bracket
    assert is_suppressed(lines, _finding(0))
    # the statement ends on line 2: line 3's noqa does not reach back
    lines2 = ["out = model(x)\n", "z = 3  # noqa\n"]
    assert not is_suppressed(lines2, _finding(0))


def test_backslash_continuation() -> None:
    lines = ["out = model(x) + \\\n", "    1  # noqa: TM001\n"]
    assert statement_end_line(lines, 0) == 1
    assert is_suppressed(lines, _finding(0))


def test_hash_inside_string_is_not_a_comment_for_brackets() -> None:
    lines = ['out = model("(#")\n', "y = 1  # noqa\n"]
    assert statement_end_line(lines, 0) == 0
    assert not is_suppressed(lines, _finding(0))


def test_escaped_quotes_and_triple_quotes_in_one_line() -> None:
    lines = ['s = model("a\\"b", \'\'\'c\'\'\')\n', "t = 1  # noqa\n"]
    assert statement_end_line(lines, 0) == 0


def test_out_of_range_line_is_not_suppressed() -> None:
    assert not is_suppressed(["x = 1\n"], _finding(5))
    assert not is_suppressed([], _finding(0))


def test_unbalanced_text_terminates() -> None:
    lines = ["model((((\n"] * 5000
    assert statement_end_line(lines, 0) == 0  # gives up, no hang
    assert not is_suppressed(lines, _finding(0))
