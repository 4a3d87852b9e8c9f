"""How failures reach the editor: an engine bug (InternalError) is shown once per
document version and the other rules' findings still replace the old ones; a failing
handler answers its request with an LSP error and the server keeps serving."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from .conftest import Session, Starter
from .sources import TRAIN_EVAL

FAULTY = [sys.executable, str(Path(__file__).with_name("faulty_server.py"))]
OUT_LINE = TRAIN_EVAL.splitlines().index("    out = model(x)")


def errors_shown(session: Session) -> list[str]:
    return [
        m.message for m in session.client.messages
        if m.type == types.MessageType.Error and "internal error" in m.message
    ]


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def test_an_internal_error_is_shown_once_per_version(start: Starter) -> None:
    session = await start(
        command=[*FAULTY, "rule"],
        init_options={"debounceMs": 0},
        env={"TORCHMODE_LSP_ENGINE": "thread"},
    )
    uri = session.open("train.py", TRAIN_EVAL)
    # The broken rule costs its own findings only; TM001 is published.
    assert {d.code for d in await session.diagnostics(uri, version=1)} == {"TM001"}
    await wait_for(lambda: len(errors_shown(session)) == 1)
    (shown,) = errors_shown(session)
    assert "rule TM002" in shown and "RuntimeError: broken on purpose" in shown
    logged = [m.message for m in session.client.log_messages if "internal error" in m.message]
    assert logged and "Traceback" in logged[0]
    session.save(uri)  # the same version analysed again: not shown again
    await session.quiet(0.8)
    assert len(errors_shown(session)) == 1
    version = session.change(uri, TRAIN_EVAL + "\n")  # a new version: shown again
    assert {d.code for d in await session.diagnostics(uri, version=version)} == {"TM001"}
    await wait_for(lambda: len(errors_shown(session)) == 2)


async def test_an_internal_error_replaces_the_last_good_diagnostics(start: Starter) -> None:
    """Unlike a parse error: what the working rules found is what is on screen."""
    session = await start(
        command=[*FAULTY, "rule"],
        init_options={"debounceMs": 0},
        env={"TORCHMODE_LSP_ENGINE": "thread"},
    )
    uri = session.open("train.py", TRAIN_EVAL)
    await session.diagnostics(uri, version=1)
    version = session.change(uri, TRAIN_EVAL.replace("out = model(x)", "model.eval()"))
    assert await session.diagnostics(uri, version=version) == []


async def test_a_failing_request_is_answered_with_an_error(start: Starter) -> None:
    session = await start(command=[*FAULTY, "hover"], init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    diagnostics = await session.diagnostics(uri, version=1)
    with pytest.raises(JsonRpcException) as caught:
        await session.hover(uri, OUT_LINE, 10)
    assert "broken on purpose" in str(caught.value)
    actions = await session.code_actions(uri, diagnostics[:1], only=["quickfix"])
    assert actions  # still serving


async def test_a_failing_notification_is_logged_and_the_server_keeps_serving(
    start: Starter,
) -> None:
    session = await start(command=[*FAULTY, "did_save"], init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    await session.diagnostics(uri, version=1)
    session.save(uri)
    await wait_for(
        lambda: any(
            "textDocument/didSave failed" in m.message and m.type == types.MessageType.Error
            for m in session.client.log_messages
        )
    )
    version = session.change(uri, TRAIN_EVAL + "\n")
    assert {d.code for d in await session.diagnostics(uri, version=version)} == {
        "TM001", "TM002"}
