"""Parsing the next version of a document from the last: the tree must be the one
``ast.parse`` makes of the new text, node for node and position for position, and a
text that does not parse must fail as it does.

The random edits are made to real files: the project's own sources and fixtures
(always here), and the installed libraries' when present.
"""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest
from torchmode.incremental_parse import Parsed, parse_after
from torchmode.source import SourceSyntaxError, parse_python

ROOT = Path(__file__).resolve().parents[2]

# what typing inserts: characters, lines, openers that swallow what follows, block
# starts and ends, statements sharing a line
SNIPPETS = ["x", "\n", "(", ")", "]", "  ", "\t", ":", "#", "'", '"""', "\\\n", "é",
            "\n    y = 1\n", "def g():\n    pass\n", "@dec\n", "else:\n", "if x:\n",
            "return 1\n", "a = 1; b = 2\n", "    "]


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=True)


def _expected(text: str) -> str | None:
    try:
        return _dump(parse_python(text))
    except SourceSyntaxError:
        return None


def _incremental(previous: Parsed, text: str) -> tuple[str | None, ast.Module | None]:
    try:
        tree = parse_after(previous, text)
    except SourceSyntaxError:
        return None, None
    return _dump(tree), tree


def _random_edit(rng: random.Random, text: str) -> str:
    at = rng.randrange(len(text) + 1)
    kind = rng.random()
    if kind < 0.4:
        return text[:at] + rng.choice(SNIPPETS) + text[at:]
    if kind < 0.7:
        return text[:at] + text[at + rng.randrange(1, 40):]
    if kind < 0.85:
        return text[:at] + rng.choice(SNIPPETS) + text[at + rng.randrange(1, 200):]
    return text + rng.choice(SNIPPETS)


def _real_files() -> list[Path]:
    files = sorted((ROOT / "server" / "torchmode").rglob("*.py"))
    files += sorted((ROOT / "tests" / "fixtures").rglob("*.py"))
    try:
        import torch.nn.modules as modules

        files += sorted(Path(modules.__file__).parent.glob("*.py"))
    except ImportError:
        pass
    return files


@pytest.mark.parametrize("seed", range(3))
def test_random_edits_of_real_files_parse_as_the_whole_text_does(seed: int) -> None:
    rng = random.Random(seed)
    files = _real_files()
    checked = 0
    for path in rng.sample(files, min(30, len(files))):
        original = path.read_text(encoding="utf-8")
        previous = Parsed(original, parse_python(original))
        for _ in range(15):
            # mostly typing on from the last version, sometimes an edit of the saved text
            base = previous.text if rng.random() < 0.7 else original
            text = _random_edit(rng, base)
            got, tree = _incremental(previous, text)
            assert got == _expected(text), f"{path.name}: {text!r}"[:300]
            if tree is not None:
                previous = Parsed(text, tree)
            checked += 1
    assert checked == min(30, len(files)) * 15


PROGRAM = """\
import torch


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    return [model(x) for x in loader]


a = 1; b = 2


def train(model):
    model.train()
"""


CLASS = """\
import torch


class Trainer:
    def fit(self, model):
        model.train()

    def evaluate(self, model, loader):
        model.eval()
        return [model(x) for x in loader]

    def save(self, model):
        torch.save(model.state_dict(), "m.pt")


def main():
    Trainer().fit(None)
"""


def _reparse(old: str, new: str) -> ast.Module:
    previous = Parsed(old, parse_python(old))
    tree = parse_after(previous, new)
    assert _dump(tree) == _dump(ast.parse(new))
    return tree


def test_statements_before_the_edit_are_the_old_ones() -> None:
    old_tree = parse_python(PROGRAM)
    new = PROGRAM.replace("model.train()", "model.train()\n    model.eval()")
    tree = parse_after(Parsed(PROGRAM, old_tree), new)
    assert _dump(tree) == _dump(ast.parse(new))
    assert tree.body[0] is old_tree.body[0]      # import torch
    assert tree.body[1] is old_tree.body[1]      # evaluate, before the edit


def test_an_edit_keeping_the_line_count_keeps_the_statements_after_it() -> None:
    old_tree = parse_python(PROGRAM)
    new = PROGRAM.replace("model.eval()\n    return", "model.train()\n    return")
    tree = parse_after(Parsed(PROGRAM, old_tree), new)
    assert _dump(tree) == _dump(ast.parse(new))
    assert tree.body[-1] is old_tree.body[-1]    # train, after the edit


def test_a_decorator_typed_above_a_function_joins_it() -> None:
    tree = _reparse(PROGRAM, PROGRAM.replace("def train", "@torch.no_grad()\ndef train"))
    assert isinstance(tree.body[-1], ast.FunctionDef) and tree.body[-1].decorator_list


def test_an_edit_of_a_decorator_reparses_its_function() -> None:
    _reparse(PROGRAM, PROGRAM.replace("@torch.no_grad()", "@torch.enable_grad()"))


def test_statements_sharing_a_line_are_reparsed_together() -> None:
    _reparse(PROGRAM, PROGRAM.replace("b = 2", "b = 3"))
    _reparse(PROGRAM, PROGRAM.replace("a = 1; b = 2", "a = (\n1); b = 2"))


def test_an_indented_line_after_blank_lines_extends_the_function_above() -> None:
    tree = _reparse(PROGRAM, PROGRAM + "\n\n    model.eval()\n")
    assert isinstance(tree.body[-1].body[-1], ast.Expr)  # type: ignore[attr-defined]


def test_an_opened_string_fails_as_the_whole_text_does() -> None:
    new = PROGRAM.replace("a = 1;", 'a = """1;')
    with pytest.raises(SourceSyntaxError) as incremental:
        parse_after(Parsed(PROGRAM, parse_python(PROGRAM)), new)
    with pytest.raises(SourceSyntaxError) as whole:
        parse_python(new)
    assert (incremental.value.line, incremental.value.character, incremental.value.message) \
        == (whole.value.line, whole.value.character, whole.value.message)


def test_unchanged_text_gives_the_same_tree() -> None:
    previous = Parsed(PROGRAM, parse_python(PROGRAM))
    assert parse_after(previous, PROGRAM) is previous.tree


@pytest.mark.parametrize("text", [PROGRAM.replace("\n", "\r\n"), PROGRAM.replace("\n", "\r")],
                         ids=["CRLF", "CR"])
def test_text_that_python_numbers_differently_is_parsed_whole(text: str) -> None:
    previous = Parsed(text, parse_python(text))
    edited = text.replace("b = 2", "b = 3")
    assert _dump(parse_after(previous, edited)) == _dump(parse_python(edited))


def test_typing_in_a_method_parses_that_method_only() -> None:
    old_tree = parse_python(CLASS)
    new = CLASS.replace("model.eval()", "model.eval(); model.half()")
    tree = parse_after(Parsed(CLASS, old_tree), new)
    assert _dump(tree) == _dump(ast.parse(new))
    trainer, old_trainer = tree.body[1], old_tree.body[1]
    assert isinstance(trainer, ast.ClassDef) and isinstance(old_trainer, ast.ClassDef)
    assert trainer.body[0] is old_trainer.body[0]    # fit, before the edit
    assert trainer.body[2] is old_trainer.body[2]    # save, after it
    assert tree.body[2] is old_tree.body[2]          # main


def test_a_line_added_in_a_method_moves_what_follows() -> None:
    tree = _reparse(CLASS, CLASS.replace("model.eval()", "model.eval()\n        model.half()"))
    assert tree.body[-1].lineno == ast.parse(CLASS).body[-1].lineno + 1


def test_a_method_typed_at_the_end_of_a_class_ends_it_there() -> None:
    _reparse(CLASS, CLASS.replace('"m.pt")\n', '"m.pt")\n\n    def load(self):\n        pass\n'))


def test_a_dedented_line_in_a_class_ends_the_class() -> None:
    tree = _reparse(CLASS, CLASS.replace("    def save(self, model):\n        torch.save",
                                         "def save(model):\n    torch.save"))
    assert [type(s).__name__ for s in tree.body] == ["Import", "ClassDef", "FunctionDef",
                                                     "FunctionDef"]
    broken = CLASS.replace("        model.eval()", "model.eval()")   # the method goes on after
    with pytest.raises(SourceSyntaxError):
        parse_after(Parsed(CLASS, parse_python(CLASS)), broken)


def test_an_else_typed_after_a_class_fails_as_the_whole_text_does() -> None:
    new = CLASS.replace("\n\ndef main", "\nelse:\n    pass\n\ndef main")
    with pytest.raises(SourceSyntaxError):
        parse_after(Parsed(CLASS, parse_python(CLASS)), new)


def test_a_class_with_its_body_on_the_header_line_is_parsed_whole() -> None:
    old = "class A: x = 1\n\n\nclass B:\n    y = 2\n"
    _reparse(old, old.replace("x = 1", "x = 2"))
    _reparse(old, old.replace("y = 2", "y = 3"))
