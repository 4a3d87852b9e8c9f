"""Bad and extreme input: a clear result or a clear one-line error, never a traceback/hang."""

from __future__ import annotations

import time

from torchmode.analyzer import INTERNAL_ERROR_PREFIX, analyze


def test_syntax_error_is_reported_not_raised() -> None:
    result = analyze("def f(:\n    model.eval(\n", "bad.py")
    assert result.syntax_error is not None and result.syntax_error.startswith("line 1")
    assert result.findings == []
    assert analyze("\x00", "nul.py").syntax_error


def test_empty_and_trivial_files() -> None:
    assert analyze("", "empty.py").findings == []
    assert analyze("x = 1\n", "plain.py").findings == []


def test_deep_nesting() -> None:
    lines = ["import torch", "model = torch.nn.Dropout()"]
    for depth in range(98):
        lines.append("    " * depth + f"if c{depth}:")
    lines.append("    " * 98 + "model.eval")
    result = analyze("\n".join(lines) + "\n", "deep.py")
    assert result.syntax_error is None
    assert [f.code for f in result.findings] == ["TM004"]
    expr = "import torch\nmodel = torch.nn.Dropout()\ny = " + "(" * 180 + "model(x)" + ")" * 180
    result = analyze(expr + "\n", "deep_expr.py")
    assert result.syntax_error is None or not result.syntax_error.startswith(
        INTERNAL_ERROR_PREFIX)


def test_long_operator_chain_does_not_crash() -> None:
    src = "import torch\nmodel = torch.nn.Dropout()\nfor x in val_loader:\n    y = " + \
        " + ".join(["model(x)"] * 3000) + "\n"
    result = analyze(src, "chain.py")
    assert result.syntax_error is None
    assert {f.code for f in result.findings} == {"TM001", "TM002"}


def test_twenty_nested_loops_converge() -> None:
    lines = ["import torch", "model = torch.nn.Dropout()",
             "opt = torch.optim.SGD(model.parameters())"]
    for depth in range(19):
        lines.append("    " * depth + f"for i{depth} in range(2):")
    lines.append("    " * 19 + "model(x).sum().backward()")
    lines.append("    " * 19 + "opt.step()")
    lines.append("    " * 19 + "model.eval()")
    start = time.perf_counter()
    result = analyze("\n".join(lines) + "\n", "loops.py")
    assert time.perf_counter() - start < 5
    assert [f.code for f in result.findings] == ["TM003"]


def test_fifty_thousand_lines() -> None:
    chunk = (
        "def evaluate_{i}(model, loader):\n"
        "    for x in loader:\n"
        "        out = model(x)\n"
        "        if out.sum() > 0:\n"
        "            print(out)\n"
        "    return out\n\n\n"
    )
    src = "import torch\n" + "".join(chunk.format(i=i) for i in range(6250))
    assert src.count("\n") >= 50_000
    start = time.perf_counter()
    result = analyze(src, "big.py")
    assert result.syntax_error is None
    assert time.perf_counter() - start < 30


def test_many_models_in_one_scope_stay_fast() -> None:
    src = "import torch\n" + "\n".join(
        f"model{i} = torch.nn.Dropout()\nmodel{i}.eval()\nmodel{i}(1)" for i in range(2000))
    start = time.perf_counter()
    result = analyze(src + "\n", "many.py")
    assert result.syntax_error is None
    assert time.perf_counter() - start < 10


def test_unbracketed_chains_thousands_deep_are_analysed() -> None:
    # Python parses these chains without brackets, so they nest far deeper than 200
    # levels; the expression walk must still reach the forward at their bottom.
    for tail in (" + 1", "[0]", " * 2 - 1"):
        src = ("import torch\nmodel = torch.nn.Dropout()\nfor x in val_loader:\n"
               "    y = model(x)" + tail * 8000 + "\n")
        result = analyze(src, "chain.py")
        assert result.syntax_error is None, tail
        assert sorted(f.code for f in result.findings) == ["TM001", "TM002"], tail


def test_non_ascii_identifiers_and_comments() -> None:
    src = ("import torch\n# 模型 🎉\nмодель = torch.nn.Dropout()\n"
           "with torch.no_grad():\n    for x in val_loader:  # 検証\n        модель(x)\n")
    result = analyze(src, "unicode.py")
    assert result.syntax_error is None
    assert [f.code for f in result.findings] == ["TM001"]


def test_two_hundred_nested_brackets() -> None:
    for depth, ok in ((199, True), (200, False)):
        src = ("import torch\nmodel = torch.nn.Dropout()\nfor x in val_loader:\n    y = "
               + "f(" * depth + "model(x)" + ")" * depth + "\n")
        result = analyze(src, "nested.py")
        if ok:
            assert result.syntax_error is None
            assert sorted(f.code for f in result.findings) == ["TM001", "TM002"]
        else:  # Python itself refuses 200 levels: a clear one-line reason, no traceback
            assert result.syntax_error == "line 4: too many nested parentheses"
