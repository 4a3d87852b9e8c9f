"""Hover: model entities with their mode, mode calls, grad contexts, layers, noqa codes."""

from __future__ import annotations

from lsprotocol import types

from .conftest import Starter
from .sources import NET_AND_OPTIMIZER, TRAIN_LOOP

HOVER_SOURCE = NET_AND_OPTIMIZER + TRAIN_LOOP + """\
model.eval()
with torch.no_grad():
    for x, y in val_loader:
        out = model(x)  # noqa: TM002
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


def value(hover: types.Hover | None) -> str:
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    return hover.contents.value


async def test_hover_on_model_in_train_and_in_eval_mode(start: Starter) -> None:
    session = await start()
    uri = session.open("train.py", HOVER_SOURCE)
    await session.diagnostics(uri, version=1)
    train_line = line_of(HOVER_SOURCE, "loss = (model(x)")
    train_col = HOVER_SOURCE.splitlines()[train_line].index("model") + 2
    text = value(await session.hover(uri, train_line, train_col))
    assert "`model`" in text and "`train`" in text and "`eval`" not in text.split("\n")[0]

    eval_line = line_of(HOVER_SOURCE, "out = model(x)")
    eval_col = HOVER_SOURCE.splitlines()[eval_line].index("model") + 1
    hover = await session.hover(uri, eval_line, eval_col)
    text = value(hover)
    set_line = line_of(HOVER_SOURCE, "model.eval()") + 1
    assert "`eval` mode here" in text and f"line {set_line}" in text
    assert "Dropout" in text  # its mode-dependent layers
    assert hover is not None and hover.range is not None
    assert hover.range.start == types.Position(eval_line, eval_col - 1)


async def test_hover_on_mode_calls_and_grad_contexts(start: Starter) -> None:
    session = await start()
    uri = session.open("train.py", HOVER_SOURCE)
    await session.diagnostics(uri, version=1)
    line = line_of(HOVER_SOURCE, "model.eval()")
    text = value(await session.hover(uri, line, 8))
    assert "Module.eval()" in text and "no_grad()" in text and "pytorch.org/docs" in text
    line = line_of(HOVER_SOURCE, "with torch.no_grad()")
    text = value(await session.hover(uri, line, 13))
    assert "torch.no_grad()" in text and "does **not** change module modes" in text
    line = line_of(HOVER_SOURCE, "nn.Dropout(0.5)")
    column = HOVER_SOURCE.splitlines()[line].index("Dropout") + 2
    text = value(await session.hover(uri, line, column))
    assert "train mode" in text and "eval mode" in text
    line = line_of(HOVER_SOURCE, "nn.Linear(4, 2)")
    column = HOVER_SOURCE.splitlines()[line].index("Linear") + 2
    assert await session.hover(uri, line, column) is None  # same in both modes: nothing to say


async def test_hover_on_noqa_code_shows_rule_doc(start: Starter) -> None:
    session = await start()
    uri = session.open("train.py", HOVER_SOURCE)
    await session.diagnostics(uri, version=1)
    line = line_of(HOVER_SOURCE, "# noqa: TM002")
    column = HOVER_SOURCE.splitlines()[line].index("TM002") + 2
    text = value(await session.hover(uri, line, column))
    assert (
        "What it does" in text
        and "missing-no-grad" in text.lower().replace(" ", "-")
        or "no_grad" in text
    )


async def test_hover_can_be_disabled(start: Starter) -> None:
    session = await start(init_options={"hover": {"enable": False}})
    uri = session.open("train.py", HOVER_SOURCE)
    await session.diagnostics(uri, version=1)
    line = line_of(HOVER_SOURCE, "model.eval()")
    assert await session.hover(uri, line, 8) is None
