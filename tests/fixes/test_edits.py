"""Exact text after each fix kind, built from hand-made FixSpecs.

These pin the edit builders on their own (no analysis): indentation,
comments, strings, line endings and spellings.
"""

from __future__ import annotations

import pytest
from torchmode.findings import FixKind, Range
from torchmode.fixes import TextEdit, apply_edits, edits_for_fix

from fixes.helpers import fixed, spec, src

EVAL = FixKind.INSERT_EVAL
TRAIN = FixKind.INSERT_TRAIN
WRAP = FixKind.WRAP_NO_GRAD
INFER = FixKind.WRAP_INFERENCE_MODE
DECO = FixKind.DECORATE_NO_GRAD
PARENS = FixKind.ADD_CALL_PARENS
FLAG = FixKind.FLAG_TO_METHOD

LOOP = src('''
    import torch

    model.train()
    for x, y in train_loader:
        step(model, x, y)

    # validation
    # (every batch)
    for x, y in val_loader:
        out = model(x)  # logits
        print(out)
    print("done")
''')


# -- insert eval / train ---------------------------------------------------------------------


def test_insert_eval_goes_above_the_attached_comment_block() -> None:
    assert fixed(LOOP, EVAL, 8, 10, "model.eval()") == src('''
        import torch

        model.train()
        for x, y in train_loader:
            step(model, x, y)

        model.eval()
        # validation
        # (every batch)
        for x, y in val_loader:
            out = model(x)  # logits
            print(out)
        print("done")
    ''')


def test_insert_eval_below_a_blank_line_separated_comment() -> None:
    text = src('''
        # header comment

        for x in val_loader:
            model(x)
    ''')
    assert fixed(text, EVAL, 2, 3, "model.eval()") == src('''
        # header comment

        model.eval()
        for x in val_loader:
            model(x)
    ''')


def test_insert_eval_below_a_comment_that_closes_the_previous_block() -> None:
    text = src('''
        def run(model):
            for x in train_loader:
                step(x)
                # end of training
            for x in val_loader:
                model(x)
    ''')
    assert fixed(text, EVAL, 4, 5, "model.eval()") == src('''
        def run(model):
            for x in train_loader:
                step(x)
                # end of training
            model.eval()
            for x in val_loader:
                model(x)
    ''')


def test_insert_eval_at_top_of_function_after_docstring() -> None:
    text = src('''
        @torch.no_grad()
        def evaluate(model, loader):
            """Evaluate.

            Long docstring.
            """
            # loop
            for x in loader:
                model(x)
    ''')
    expected = src('''
        @torch.no_grad()
        def evaluate(model, loader):
            """Evaluate.

            Long docstring.
            """
            model.eval()
            # loop
            for x in loader:
                model(x)
    ''')
    assert fixed(text, EVAL, 1, 8, "model.eval()") == expected  # target: the def
    assert fixed(text, EVAL, 0, 8, "model.eval()") == expected  # target: the decorator line
    assert fixed(text, EVAL, 2, 5, "model.eval()") == expected  # target: the docstring


def test_insert_eval_at_top_of_function_without_docstring() -> None:
    text = src('''
        def evaluate(model, loader):

            # loop
            for x in loader:
                model(x)
    ''')
    assert fixed(text, EVAL, 0, 4, "model.eval()") == src('''
        def evaluate(model, loader):
            model.eval()

            # loop
            for x in loader:
                model(x)
    ''')


def test_insert_eval_into_one_line_function_is_not_possible() -> None:
    assert fixed("def f(model, x): return model(x)\n", EVAL, 0, 0, "model.eval()") is None


def test_insert_train_inside_the_loop() -> None:
    text = src('''
        for epoch in range(3):
            evaluate(model)
            for x, y in train_loader:
                loss = model(x).sum()
                loss.backward()
                opt.step()
    ''')
    assert fixed(text, TRAIN, 2, 5, "model.train()") == src('''
        for epoch in range(3):
            evaluate(model)
            model.train()
            for x, y in train_loader:
                loss = model(x).sum()
                loss.backward()
                opt.step()
    ''')


def test_insert_eval_before_export_call() -> None:
    text = src('''
        def export(model, x):
            traced = torch.jit.trace(model, x)  # 导出
            return traced
    ''')
    assert fixed(text, EVAL, 1, 1, "model.eval()") == src('''
        def export(model, x):
            model.eval()
            traced = torch.jit.trace(model, x)  # 导出
            return traced
    ''')


def test_insert_keeps_tabs_crlf_and_missing_final_newline() -> None:
    text = "def f(m, loader):\r\n\t# eval\r\n\tfor x in loader:\r\n\t\tm(x)"
    assert fixed(text, EVAL, 2, 3, "m.eval()") == (
        "def f(m, loader):\r\n\tm.eval()\r\n\t# eval\r\n\tfor x in loader:\r\n\t\tm(x)")


def test_insert_after_docstring_that_ends_the_file_without_newline() -> None:
    text = 'def f(model):\n    """Doc."""'
    expected = 'def f(model):\n    """Doc."""\n    model.eval()'
    assert fixed(text, EVAL, 1, 1, "model.eval()") == expected


# -- wrap in no_grad / inference_mode ----------------------------------------------------------


def test_wrap_loop_keeps_comment_above_and_reindents_inside() -> None:
    assert fixed(LOOP, WRAP, 8, 10, "torch.no_grad()") == src('''
        import torch

        model.train()
        for x, y in train_loader:
            step(model, x, y)

        # validation
        # (every batch)
        with torch.no_grad():
            for x, y in val_loader:
                out = model(x)  # logits
                print(out)
        print("done")
    ''')


def test_wrap_spellings() -> None:
    text = src('''
        for x in val_loader:
            model(x)
    ''')
    for code in ("th.no_grad()", "no_grad()", "torch.inference_mode()", "inference_mode()"):
        kind = INFER if "inference" in code else WRAP
        expected = f"with {code}:\n    for x in val_loader:\n        model(x)\n"
        assert fixed(text, kind, 0, 1, code) == expected


def test_wrap_multiline_strings_keep_their_content() -> None:
    text = src('''
        def report(model, loader):
            for x in loader:
                header = """
        results:
            accuracy
        """
                f = f"""{model(x)}
          tail"""
                s = 'one \\
        two'
                total = (1 +
                         2) + \\
                    3
                # comment inside

                print(header, f, s, total)
            return 0
    ''')
    result = fixed(text, WRAP, 1, 15, "torch.no_grad()")
    assert result == src('''
        def report(model, loader):
            with torch.no_grad():
                for x in loader:
                    header = """
        results:
            accuracy
        """
                    f = f"""{model(x)}
          tail"""
                    s = 'one \\
        two'
                    total = (1 +
                             2) + \\
                        3
                    # comment inside

                    print(header, f, s, total)
            return 0
    ''')


def test_wrap_nested_loops_outer_and_inner() -> None:
    text = src('''
        for epoch in range(2):
            for x in val_loader:
                for t in x:
                    model(t)
            log()
    ''')
    assert fixed(text, WRAP, 0, 4, "torch.no_grad()") == src('''
        with torch.no_grad():
            for epoch in range(2):
                for x in val_loader:
                    for t in x:
                        model(t)
                log()
    ''')
    assert fixed(text, WRAP, 1, 3, "torch.no_grad()") == src('''
        for epoch in range(2):
            with torch.no_grad():
                for x in val_loader:
                    for t in x:
                        model(t)
            log()
    ''')


def test_wrap_uses_the_file_indent_unit() -> None:
    two = "def f(model):\n  x = 1\n  y = model(x)\n  return y\n"
    assert fixed(two, WRAP, 2, 2, "torch.no_grad()") == (
        "def f(model):\n  x = 1\n  with torch.no_grad():\n    y = model(x)\n  return y\n")
    tabs = "def f(model):\n\tfor x in loader:\n\t\tmodel(x)\n"
    assert fixed(tabs, WRAP, 1, 2, "torch.no_grad()") == (
        "def f(model):\n\twith torch.no_grad():\n\t\tfor x in loader:\n\t\t\tmodel(x)\n")


def test_wrap_crlf_cjk_and_no_final_newline() -> None:
    text = "for x in val_loader:\r\n    # 验证 😀\r\n    y = model(x)  # 中文"
    assert fixed(text, WRAP, 0, 2, "torch.no_grad()") == (
        "with torch.no_grad():\r\n    for x in val_loader:\r\n        # 验证 😀\r\n"
        "        y = model(x)  # 中文")


def test_wrap_skips_a_leading_docstring() -> None:
    text = src('''
        def evaluate(model, x):
            """Doc."""
            y = model(x)
            return y
    ''')
    assert fixed(text, WRAP, 1, 3, "torch.no_grad()") == src('''
        def evaluate(model, x):
            """Doc."""
            with torch.no_grad():
                y = model(x)
                return y
    ''')


def test_wrap_refuses_an_incomplete_statement() -> None:
    text = src('''
        for x in val_loader:
            y = model(x,
                      x)
    ''')
    assert fixed(text, WRAP, 0, 1, "torch.no_grad()") is None
    assert fixed(text, WRAP, 0, 2, "torch.no_grad(") is None


def test_wrap_edits_are_insertions_only() -> None:
    edits = edits_for_fix(LOOP, spec(WRAP, 8, 10, "torch.no_grad()"))
    assert edits is not None
    assert all(e.range.start == e.range.end for e in edits)


# -- decorator -------------------------------------------------------------------------------


def test_decorate_plain_function_and_above_decorators() -> None:
    text = src('''
        import torch


        @some.decorator(
            arg=1,
        )
        def evaluate(model, x):
            return model(x)
    ''')
    expected = src('''
        import torch


        @torch.no_grad()
        @some.decorator(
            arg=1,
        )
        def evaluate(model, x):
            return model(x)
    ''')
    assert fixed(text, DECO, 6, 7, "torch.no_grad()") == expected
    assert fixed(text, DECO, 3, 7, "torch.no_grad()") == expected


def test_decorate_goes_below_descriptor_decorators() -> None:
    text = src('''
        class Runner:
            @staticmethod
            @cache
            def evaluate(model, x):
                return model(x)

            @property
            def out(self):
                return self.model(self.x)
    ''')
    assert fixed(text, DECO, 3, 4, "no_grad()") == src('''
        class Runner:
            @staticmethod
            @no_grad()
            @cache
            def evaluate(model, x):
                return model(x)

            @property
            def out(self):
                return self.model(self.x)
    ''')
    assert fixed(text, DECO, 7, 8, "th.no_grad()") == src('''
        class Runner:
            @staticmethod
            @cache
            def evaluate(model, x):
                return model(x)

            @property
            @th.no_grad()
            def out(self):
                return self.model(self.x)
    ''')


def test_decorate_refuses_async_function() -> None:
    text = "async def evaluate(model, x):\n    return model(x)\n"
    assert fixed(text, DECO, 0, 1, "torch.no_grad()") is None


# -- call parens and flag assignment ---------------------------------------------------------


def test_add_call_parens() -> None:
    assert fixed("model.eval\n", PARENS, 0, 0, "model.eval()") == "model.eval()\n"
    assert fixed("    self.net.train  # 训练\n", PARENS, 0, 0, "self.net.train()") == (
        "    self.net.train()  # 训练\n")
    assert fixed("with torch.no_grad:\n    y = m(x)\n", PARENS, 0, 1, "torch.no_grad()") == (
        "with torch.no_grad():\n    y = m(x)\n")
    assert fixed("with th.inference_mode :\n    y = m(x)\n", PARENS, 0, 1,
                 "th.inference_mode()") == "with th.inference_mode() :\n    y = m(x)\n"
    assert fixed("with no_grad, open(p) as f:\n    y = m(x)\n", PARENS, 0, 1, "no_grad()") == (
        "with no_grad(), open(p) as f:\n    y = m(x)\n")
    # `other.model.eval` is not `model.eval`
    assert fixed("other.model.eval; model.eval\n", PARENS, 0, 0, "model.eval()") == (
        "other.model.eval; model.eval()\n")
    assert fixed("s = '😀'; model.eval\n", PARENS, 0, 0, "model.eval()") == (
        "s = '😀'; model.eval()\n")


def test_flag_to_method() -> None:
    assert fixed("model.training = False\n", FLAG, 0, 0, "model.eval()") == "model.eval()\n"
    assert fixed("    net.training = True  # 注释\n", FLAG, 0, 0, "net.train()") == (
        "    net.train()  # 注释\n")
    assert fixed("s = '😀'; model.training = False; t = 1\n", FLAG, 0, 0, "model.eval()",
                 entity="model") == "s = '😀'; model.eval(); t = 1\n"
    assert fixed("model.training = (\n    False\n)\r\n", FLAG, 0, 2, "model.eval()") == (
        "model.eval()\r\n")
    assert fixed("a.training = b.training = False\n", FLAG, 0, 0, "a.eval()") is None


# -- import torch when nothing usable is imported ---------------------------------------------


WRAP_ME = "for x in val_loader:\n    model(x)\n"


def _with_import(head: str) -> str | None:
    text = head + WRAP_ME
    first = len(head.splitlines())
    return fixed(text, WRAP, first, first + 1, "torch.no_grad()", import_line="import torch")


WRAPPED = "with torch.no_grad():\n    for x in val_loader:\n        model(x)\n"


def test_import_added_after_docstring_future_and_imports() -> None:
    assert _with_import('"""Doc."""\nfrom __future__ import annotations\nimport os\n\n') == (
        '"""Doc."""\nfrom __future__ import annotations\nimport os\nimport torch\n\n' + WRAPPED)
    assert _with_import('"""Doc\n\nmore."""\n') == '"""Doc\n\nmore."""\nimport torch\n' + WRAPPED


def test_import_added_after_shebang_and_comments() -> None:
    head = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# 版权\n"
    assert _with_import(head) == head + "import torch\n" + WRAPPED


def test_import_not_duplicated() -> None:
    assert _with_import("import torch\n") == "import torch\n" + WRAPPED


def test_import_before_decorated_first_statement() -> None:
    text = "@dec\ndef evaluate(model, x):\n    return model(x)\n"
    result = fixed(text, DECO, 1, 2, "torch.no_grad()", import_line="import torch")
    assert result == ("import torch\n@torch.no_grad()\n@dec\n"
                      "def evaluate(model, x):\n    return model(x)\n")


def test_import_with_insert_at_same_place_comes_first() -> None:
    text = "for x in val_loader:\n    model(x)\n"
    edits = edits_for_fix(text, spec(WRAP, 0, 1, "torch.no_grad()", import_line="import torch"))
    assert edits is not None
    assert apply_edits(text, edits) == "import torch\n" + WRAPPED


# -- edits arithmetic --------------------------------------------------------------------------


def test_apply_edits_refuses_overlaps_and_keeps_insert_order() -> None:
    a = TextEdit.insert(0, 0, "a")
    b = TextEdit.insert(0, 0, "b")
    assert apply_edits("x", [a, b]) == "abx"
    with pytest.raises(ValueError):
        apply_edits("xyz", [TextEdit(Range.of(0, 0, 0, 2), ""), TextEdit(Range.of(0, 1, 0, 3), "")])


def test_utf16_columns_for_astral_characters() -> None:
    text = "s = '😀😀'; model.eval\n"
    edits = edits_for_fix(text, spec(PARENS, 0, 0, "model.eval()"))
    assert edits is not None
    # 😀 is two UTF-16 code units: the end of `model.eval` is at 4 + 2*2 + 3 + 10 = 21.
    assert edits[0].range.start.character == len("s = '") + 4 + len("'; model.eval")


def test_wrap_refuses_a_block_that_yields_or_awaits() -> None:
    gen = "def predict(model, loader):\n    for x in loader:\n        yield model(x)\n"
    assert fixed(gen, WRAP, 1, 2, "torch.no_grad()") is None
    # ...but the decorator is fine: torch applies it around each generator step.
    assert fixed(gen, DECO, 0, 2, "torch.no_grad()") == "@torch.no_grad()\n" + gen
    coro = "async def predict(model, x):\n    y = model(x)\n    await send(y)\n"
    assert fixed(coro, WRAP, 1, 2, "torch.no_grad()") is None
    nested = "for x in loader:\n    out = model(x)\n    def later():\n        yield out\n"
    assert fixed(nested, WRAP, 0, 3, "torch.no_grad()") is not None


def test_wrap_simple_statement_takes_the_unit_of_its_block() -> None:
    # Three-space blocks in this function, a different unit elsewhere in the file.
    text = ("def a():\n  return 1\n\n\ndef f(model, x):  # three spaces here\n"
            "   y = model(x)\n   return y\n")
    assert fixed(text, WRAP, 5, 5, "torch.no_grad()") == (
        "def a():\n  return 1\n\n\ndef f(model, x):  # three spaces here\n"
        "   with torch.no_grad():\n      y = model(x)\n   return y\n")


def test_decorate_one_line_function() -> None:
    text = "class A:\n    @staticmethod\n    def f(model, x): return model(x)\n"
    assert fixed(text, DECO, 2, 2, "torch.no_grad()") == (
        "class A:\n    @staticmethod\n    @torch.no_grad()\n    def f(model, x): return model(x)\n")
