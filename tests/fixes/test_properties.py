"""Property tests over generated programs: for every fix kind on every statement,
the result parses and its AST differs from the original by exactly the intended
insertion, wrapper, decorator or replacement; the noqa edit never changes code
and is honoured by torchmode.noqa."""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torchmode import noqa
from torchmode.findings import FixKind
from torchmode.fixes import apply_edits, edits_for_fix, noqa_edit
from torchmode.fixes.textedit import split_lines

from fixes.helpers import finding, spec
from fixes.programs import Program, Stmt, programs

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def _locate(tree: ast.AST, line: int) -> tuple[list[ast.stmt], int]:
    """The statement list and index holding the statement that starts on 0-based ``line``."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list):
                for index, stmt in enumerate(body):
                    if isinstance(stmt, ast.stmt) and stmt.lineno - 1 == line:
                        return body, index
    raise AssertionError(f"no statement starts on line {line}")


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree)


def _apply(program: Program, kind: str, first: int, last: int, code: str) -> str:
    edits = edits_for_fix(program.text, spec(kind, first, last, code))
    assert edits is not None, f"no edit for {kind} at {first}..{last}:\n{program.text}"
    if kind != FixKind.FLAG_TO_METHOD:
        assert all(e.range.start == e.range.end for e in edits), "only insertions expected"
    return apply_edits(program.text, edits)


def _keeps_line_endings(program: Program, new_text: str) -> None:
    for line in split_lines(new_text):
        if line.endswith(("\n", "\r")):
            assert line.endswith(program.eol) and (program.eol == "\r\n" or "\r" not in line)
    assert new_text.endswith(("\n", "\r")) == program.text.endswith(("\n", "\r"))


@st.composite
def program_and_statement(draw: st.DrawFn) -> tuple[Program, list[Stmt], int]:
    program = draw(programs())
    everything = program.all_statements()
    siblings, index = draw(st.sampled_from(everything))
    return program, siblings, index


@PROPERTY_SETTINGS
@given(program_and_statement(), st.integers(0, 3),
       st.sampled_from(["torch.no_grad()", "th.inference_mode()", "no_grad()"]))
def test_wrap_adds_exactly_one_with(case: tuple[Program, list[Stmt], int], extra: int,
                                    code: str) -> None:
    program, siblings, index = case
    if siblings[index].kind == "docstring":
        return
    end = min(len(siblings) - 1, index + extra)
    first, last = siblings[index].first, siblings[end].last
    new_text = _apply(program, FixKind.WRAP_NO_GRAD, first, last, code)
    expected = ast.parse(program.text)
    body, k = _locate(expected, first)
    # A line may hold several statements (`a = 1; b = 2`): wrap every one up to `last`.
    count = sum(1 for stmt in body[k:] if stmt.lineno - 1 <= last)
    wrapped = body[k:k + count]
    item = ast.withitem(context_expr=ast.parse(code, mode="eval").body)
    body[k:k + count] = [ast.With(items=[item], body=wrapped)]
    assert _dump(ast.parse(new_text)) == _dump(expected)
    _keeps_line_endings(program, new_text)


@PROPERTY_SETTINGS
@given(program_and_statement())
def test_insert_adds_exactly_one_statement(case: tuple[Program, list[Stmt], int]) -> None:
    program, siblings, index = case
    target = siblings[index]
    new_text = _apply(program, FixKind.INSERT_EVAL, target.first, target.last, "model.eval()")
    expected = ast.parse(program.text)
    call = ast.parse("model.eval()").body[0]
    body, k = _locate(expected, target.first)
    if target.kind in ("def", "ddef"):
        func = body[k]
        assert isinstance(func, ast.FunctionDef)
        func.body.insert(1 if target.body and target.body[0].kind == "docstring" else 0, call)
    elif target.kind == "docstring":
        body.insert(k + 1, call)
    else:
        body.insert(k, call)
        if target.comment_before:  # inserted above the comment that belongs to the statement
            assert split_lines(new_text)[target.first - 1].strip() == "model.eval()"
    assert _dump(ast.parse(new_text)) == _dump(expected)
    _keeps_line_endings(program, new_text)


@PROPERTY_SETTINGS
@given(program_and_statement())
def test_decorate_adds_exactly_one_decorator(case: tuple[Program, list[Stmt], int]) -> None:
    program, siblings, index = case
    target = siblings[index]
    if target.kind not in ("def", "ddef"):
        return
    new_text = _apply(program, FixKind.DECORATE_NO_GRAD, target.first, target.last,
                      "torch.no_grad()")
    expected = ast.parse(program.text)
    body, k = _locate(expected, target.first)
    func = body[k]
    assert isinstance(func, ast.FunctionDef)
    func.decorator_list.insert(0, ast.parse("torch.no_grad()", mode="eval").body)
    assert _dump(ast.parse(new_text)) == _dump(expected)


@PROPERTY_SETTINGS
@given(program_and_statement())
def test_inline_fixes_change_only_their_statement(case: tuple[Program, list[Stmt], int]) -> None:
    program, siblings, index = case
    target = siblings[index]
    if target.kind not in ("bare_eval", "flag"):
        return
    kind = FixKind.ADD_CALL_PARENS if target.kind == "bare_eval" else FixKind.FLAG_TO_METHOD
    new_text = _apply(program, kind, target.first, target.last, "model.eval()")
    expected = ast.parse(program.text)
    body, k = _locate(expected, target.first)
    body[k] = ast.parse("model.eval()").body[0]
    assert _dump(ast.parse(new_text)) == _dump(expected)


@PROPERTY_SETTINGS
@given(program_and_statement(), st.sampled_from(["TM001", "TM002", "TM007"]))
def test_noqa_edit_never_changes_code_and_suppresses(case: tuple[Program, list[Stmt], int],
                                                     code: str) -> None:
    program, siblings, index = case
    target = siblings[index]
    if target.kind == "docstring":
        return
    f = finding(code, target.first)
    new_text = apply_edits(program.text, [noqa_edit(program.text, f)])
    assert _dump(ast.parse(new_text)) == _dump(ast.parse(program.text))
    assert noqa.is_suppressed(split_lines(new_text), f)
    # A second "ignore" on the same line changes nothing.
    again = apply_edits(new_text, [noqa_edit(new_text, f)])
    assert again == new_text


