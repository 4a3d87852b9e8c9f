"""A hostile workspace, run through the real server over stdio: project files that
shadow modules, a FIFO and a link to /dev/zero named like Python files, text nested
too deeply to fix or to analyse, a document too large for fixes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from lsprotocol import types

from .conftest import Session, Starter
from .sources import TRAIN_EVAL
from .test_workspace import processes, wait_for_message

CONSOLE_SCRIPT = [os.path.join(os.path.dirname(sys.executable), "torchmode"), "server"]


def plant_marker_modules(root: Path, marker: Path) -> None:
    """Project code that must never run: it would leave ``marker`` behind."""
    code = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    (root / "warnings.py").write_text(code)
    (root / "torchmode").mkdir()
    (root / "torchmode" / "__init__.py").write_text(code)
    (root / "torchmode" / "lsp").mkdir()
    (root / "torchmode" / "lsp" / "__init__.py").write_text(code)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def worker_pids(server_pid: int) -> list[int]:
    return [pid for pid, ppid, cmd in processes() if ppid == server_pid and "lsp.engine" in cmd]


async def test_project_code_never_runs_and_odd_files_do_not_stall_the_index(
    start: Starter, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    marker = tmp_path / "ran"
    plant_marker_modules(root, marker)
    os.mkfifo(root / "pipe.py")
    (root / "zero.py").symlink_to("/dev/zero")
    session = await start(root=root, command=CONSOLE_SCRIPT, init_options={"debounceMs": 0})
    server = session.client._server
    assert server is not None
    uri = session.open("train.py", TRAIN_EVAL)
    assert {d.code for d in await session.diagnostics(uri, version=1)} == {"TM001", "TM002"}
    await session.quiet(1.0)  # the background index has walked the workspace
    [worker] = worker_pids(server.pid)
    os.kill(worker, signal.SIGKILL)  # a restarted worker is isolated too
    version = session.change(uri, TRAIN_EVAL + "\n")
    assert await session.diagnostics(uri, version=version, timeout=30)
    assert not marker.exists(), marker.read_text()
    assert rss_mb(server.pid) < 300
    await asyncio.wait_for(session.client.shutdown_session(), 10)
    session.client.protocol.notify(types.EXIT)
    deadline = time.monotonic() + 10
    while server.returncode is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert server.returncode == 0


def deep_program(levels: int) -> str:
    return "import torch\nfor x in val_loader:\n    y = model(x" + " + 1" * levels + ")\n"


async def test_code_actions_on_text_too_deep_for_fixes_keep_the_server_alive(
    start: Starter,
) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("deep.py", deep_program(8000), write=False)
    diagnostics = await session.diagnostics(uri, version=1, timeout=30)
    assert {d.code for d in diagnostics} == {"TM002"}
    for _ in range(3):  # the editor asks again whenever the cursor rests there
        actions = await session.code_actions(uri, diagnostics, only=["quickfix"])
        assert [a.title for a in actions] == ["torchmode (TM002 missing-no-grad): Ignore this line"]
    server = session.client._server
    assert server is not None and server.returncode is None
    assert len(worker_pids(server.pid)) == 1


async def test_a_file_too_deep_to_analyse_says_so(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("ok.py", TRAIN_EVAL)
    assert await session.diagnostics(uri, version=1)
    version = session.change(uri, deep_program(20000))
    message = await wait_for_message(session, "nested too deeply to analyse")
    assert message.startswith("torchmode: ok.py is nested too deeply")
    assert await session.diagnostics(uri, after=1) == []  # the old ones are cleared
    assert version == 2


async def test_fixes_are_off_for_a_very_large_document(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    filler = "".join(f"value_{i} = {i}\n" for i in range(70_000))  # about 1.2 MB
    uri = session.open("big.py", TRAIN_EVAL + filler, write=False)
    diagnostics = await session.diagnostics(uri, version=1, timeout=60)
    assert {d.code for d in diagnostics} == {"TM001", "TM002"}
    assert await session.code_actions(uri, diagnostics, only=["quickfix"]) == []
    message = await wait_for_message(session, "fixes are off")
    assert "big.py" in message and "over the 1 MB limit" in message


async def test_the_index_says_when_it_stops_at_its_file_cap(
    start: Starter, tmp_path: Path
) -> None:
    for i in range(4):
        (tmp_path / f"m{i}.py").write_text("x = 1\n")
    session: Session = await start(env={"TORCHMODE_INDEX_FILE_LIMIT": "3"})
    message = await wait_for_message(session, "more than 3 Python files")
    assert "only the first 3 are indexed" in message
    assert any("more than 3 Python files" in m.message for m in session.client.log_messages)


async def test_the_worker_is_replaced_after_a_huge_document(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0},
                          env={"TORCHMODE_WORKER_RSS_LIMIT_MB": "1"})
    server = session.client._server
    assert server is not None
    small = session.open("small.py", TRAIN_EVAL, write=False)
    assert await session.diagnostics(small, version=1)
    [first] = worker_pids(server.pid)
    filler = "".join(f"value_{i} = {i}\n" for i in range(70_000))  # about 1.2 MB
    big = session.open("big.py", TRAIN_EVAL + filler, write=False)
    assert {d.code for d in await session.diagnostics(big, version=1, timeout=60)} == {
        "TM001", "TM002"}
    deadline = time.monotonic() + 20
    while first in worker_pids(server.pid):
        assert time.monotonic() < deadline, "the worker was kept after a huge document"
        await asyncio.sleep(0.1)
    version = session.change(small, TRAIN_EVAL + "\n")  # a fresh worker answers
    assert {d.code for d in await session.diagnostics(small, version=version, timeout=30)} == {
        "TM001", "TM002"}


async def test_code_actions_over_the_time_budget_answer_without_fixes(start: Starter) -> None:
    normal = await start(init_options={"debounceMs": 0})
    uri = normal.open("train.py", TRAIN_EVAL)
    diagnostics = await normal.diagnostics(uri, version=1)
    slow = await start(init_options={"debounceMs": 0}, env={"TORCHMODE_LSP_TIMEOUT": "0.001"})
    assert slow.open("train.py", TRAIN_EVAL) == uri
    await wait_for_message(slow, "too slow to analyse")
    # The diagnostics (with their findings) of version 1, as an editor may still hold them:
    # building and verifying their fixes goes over the budget too.
    actions = await slow.code_actions(uri, diagnostics, only=["quickfix"])
    assert all("Ignore this line" in a.title for a in actions)
