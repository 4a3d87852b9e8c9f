"""A generator of small PyTorch scripts with mode/grad mistakes, for property tests
with the real engine: import spellings, one or two models, optional training loop,
evaluation at module level, in a function or in an epoch loop, with or without
eval()/no_grad(), bare `model.eval`, flag assignments, comments, nested loops,
spaces or tabs, LF or CRLF."""

from __future__ import annotations

from hypothesis import strategies as st

IMPORTS = {
    "torch": ("import torch\nimport torch.nn as nn\n", "torch.randn"),
    "th": ("import torch as th\nfrom torch import nn\n", "th.randn"),
    "from": ("from torch import nn, no_grad, randn\n", "randn"),
    "nothing": ("from torch import nn\nfrom torch import randn\n", "randn"),
}


@st.composite
def scripts(draw: st.DrawFn) -> str:
    spelling = draw(st.sampled_from(sorted(IMPORTS)))
    head, randn = IMPORTS[spelling]
    models = draw(st.sampled_from([["model"], ["encoder", "decoder"]]))
    unit = draw(st.sampled_from(["    ", "  ", "\t"]))
    lines = [f'"""Generated script ({spelling})."""', *head.rstrip("\n").split("\n"),
             "from torch.optim import SGD", ""]
    for name in models:
        layer = draw(st.sampled_from(["nn.Dropout(0.5)", "nn.BatchNorm1d(4)"]))
        lines.append(f"{name} = nn.Sequential(nn.Linear(4, 4), {layer})")
    lines += [f"train_loader = [{randn}(2, 4)]", f"val_loader = [{randn}(2, 4)]", ""]
    trained = models[0]
    has_training = draw(st.booleans())
    if has_training:
        lines.append(f"opt = SGD({trained}.parameters(), lr=0.1)")
    place = draw(st.sampled_from(["module", "function", "epoch"]))
    mode_call = draw(st.sampled_from(["eval", "none", "bare", "flag"]))
    grad = draw(st.booleans())
    comment = draw(st.booleans())
    nested = draw(st.booleans())

    def call_chain() -> str:
        expr = "x"
        for name in models:
            expr = f"{name}({expr})"
        return expr

    def evaluation(indent: str, loader: str) -> list[str]:
        out: list[str] = []
        for name in models:
            if mode_call == "eval":
                out.append(f"{indent}{name}.eval()")
            elif mode_call == "bare":
                out.append(f"{indent}{name}.eval")
            elif mode_call == "flag":
                out.append(f"{indent}{name}.training = False")
        if comment:
            out.append(f"{indent}# 验证 validation 😀")
        inner = indent
        if grad:
            out.append(f"{indent}with {'th.' if spelling == 'th' else ''}"
                       f"{'torch.' if spelling == 'torch' else ''}no_grad():"
                       if spelling in ("torch", "th", "from") else f"{indent}pass")
            inner = indent + unit if spelling in ("torch", "th", "from") else indent
        out.append(f"{inner}for x in {loader}:")
        body = inner + unit
        if nested:
            out.append(f"{body}for t in [x, x]:")
            out.append(f"{body}{unit}out = {call_chain().replace('(x)', '(t)', 1)}")
        else:
            out.append(f"{body}out = {call_chain()}")
        out.append(f'{body}note = """kept')
        out.append("  as is")
        out.append('"""')
        return out

    calls_train = draw(st.booleans())

    def training(indent: str) -> list[str]:
        start = [f"{indent}{trained}.train()"] if calls_train else []
        return [*start, f"{indent}for x in train_loader:",
                f"{indent}{unit}opt.zero_grad()", f"{indent}{unit}{trained}(x).sum().backward()",
                f"{indent}{unit}opt.step()"]

    if place == "module":
        if has_training:
            lines += training("")
        lines += evaluation("", "val_loader")
    elif place == "function":
        lines += ["", "", "def evaluate(loader):"]
        if draw(st.booleans()):
            lines.append(f'{unit}"""Evaluate."""')
        lines += evaluation(unit, "loader")
        lines += [f"{unit}return out", "", ""]
        if has_training:
            lines += training("")
        lines.append("evaluate(val_loader)")
    else:
        lines.append("for epoch in range(2):")
        if has_training:
            lines += training(unit)
        lines += evaluation(unit, "val_loader")
    if spelling in ("torch", "th") and draw(st.booleans()):
        prefix = "torch" if spelling == "torch" else "th"
        lines.append(f"traced = {prefix}.jit.trace({models[0]}, {randn}(1, 4))")
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(lines)
    return text + eol if draw(st.booleans()) else text
