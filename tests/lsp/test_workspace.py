"""Settings, cross-file summaries, inlay hints and robustness against bad requests."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from concurrent.futures import Future
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from .conftest import Session, Starter
from .sources import CLEAN, TRAIN_EVAL

UTILS = """\
def evaluate(model, loader):
    model.eval()
    total = 0
    for x, y in loader:
        total += float((model(x) - y).abs().sum())
    return total
"""

UTILS_RESTORING = """\
def evaluate(model, loader):
    was_training = model.training
    model.eval()
    total = 0
    for x, y in loader:
        total += float((model(x) - y).abs().sum())
    model.train(was_training)
    return total
"""

TRAIN_WITH_HELPER = """\
import torch
from torch import nn

from utils import evaluate

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(3):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
    score = evaluate(model, val_loader)
"""


async def codes_eventually(
    session, uri: str, want: bool, code: str, timeout: float = 20.0
) -> list[types.Diagnostic]:
    """Wait until the latest publish for ``uri`` has (``want``) or lacks ``code``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        published = session.publishes_for(uri)
        if published and (code in {d.code for d in published[-1].diagnostics}) == want:
            return list(published[-1].diagnostics)
        await asyncio.sleep(0.05)
    latest = session.publishes_for(uri)[-1].diagnostics if session.publishes_for(uri) else None
    raise AssertionError(f"{code} present={want} never published; latest: {latest}")


async def test_settings_from_configuration_and_changes_take_effect(start: Starter) -> None:
    session = await start(configuration={"torchmode": {"ignore": ["TM001"], "debounceMs": 0}})
    uri = session.open("train.py", TRAIN_EVAL)
    await codes_eventually(session, uri, False, "TM001")
    assert "TM001" not in {d.code for d in session.publishes_for(uri)[-1].diagnostics}
    session.client.set_configuration(
        {"debounceMs": 0, "severity": {"TM001": "hint"}}, section="torchmode"
    )
    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    diagnostics = await codes_eventually(session, uri, True, "TM001")
    tm001 = next(d for d in diagnostics if d.code == "TM001")
    assert tm001.severity == types.DiagnosticSeverity.Hint

    session.client.set_configuration({"enable": False}, section="torchmode")
    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    assert await codes_eventually(session, uri, False, "TM001") == []


async def test_invalid_settings_fall_back_and_are_reported_once(start: Starter) -> None:
    bad = {"debounceMs": "fast", "select": ["TM999"], "fixAll": {"unsafe": "yes"}}
    session = await start(init_options=bad, configuration={"torchmode": bad})
    uri = session.open("train.py", TRAIN_EVAL)
    diagnostics = await session.diagnostics(uri, version=1)
    assert "TM001" in {d.code for d in diagnostics}  # defaults: every rule selected
    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    await asyncio.sleep(0.5)
    warnings = [
        m
        for m in session.client.log_messages
        if m.type == types.MessageType.Warning and "invalid settings" in m.message
    ]
    assert len(warnings) == 1
    for key in ("debounceMs", "select", "fixAll.unsafe"):
        assert f"torchmode.{key}" in warnings[0].message


async def test_pyproject_first_or_editor_first(start: Starter, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.torchmode]\nignore = ["TM001"]\n')
    session = await start(
        init_options={"ignore": ["TM002"], "configurationPreference": "filesystemFirst"}
    )
    uri = session.open("train.py", TRAIN_EVAL)
    assert {d.code for d in await session.diagnostics(uri, version=1)} == {"TM002"}
    # editorFirst: the editor's ignore wins where set...
    session.client.set_configuration(
        {"configurationPreference": "editorFirst"}, section="torchmode"
    )
    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    diagnostics = await codes_eventually(session, uri, True, "TM001")
    assert "TM002" not in {d.code for d in diagnostics}
    # ...and an empty list is "not set" (VS Code's default): pyproject.toml's applies.
    session.client.set_configuration(
        {"ignore": [], "configurationPreference": "editorFirst"}, section="torchmode"
    )
    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    diagnostics = await codes_eventually(session, uri, False, "TM001")
    assert "TM002" in {d.code for d in diagnostics}


async def test_cross_file_summary_from_the_workspace_index(start: Starter, tmp_path: Path) -> None:
    (tmp_path / "utils.py").write_text(UTILS)
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_WITH_HELPER)
    # evaluate() from utils.py leaves the model in eval for the next epoch: TM003.
    diagnostics = await codes_eventually(session, uri, True, "TM003")
    tm003 = next(d for d in diagnostics if d.code == "TM003")
    assert tm003.range.start.line == TRAIN_WITH_HELPER.splitlines().index(
        "    score = evaluate(model, val_loader)"
    )
    assert tm003.related_information  # the training step
    # utils.py now restores the mode; saving it refreshes the index and train.py.
    utils = session.open("utils.py", UTILS)
    session.change(utils, UTILS_RESTORING)
    session.save(utils)
    await codes_eventually(session, uri, False, "TM003")
    assert any(r.method == "workspace/didChangeWatchedFiles" for r in session.registrations)
    # Changed on disk by something else (git checkout): the watched-files event refreshes.
    session.close(utils)
    (tmp_path / "utils.py").write_text(UTILS)
    session.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=utils, type=types.FileChangeType.Changed)]
        )
    )
    await codes_eventually(session, uri, True, "TM003")


async def test_inlay_hints_show_the_mode_at_forward_calls(start: Starter) -> None:
    session = await start()
    uri = session.open("train.py", CLEAN)
    await session.diagnostics(uri, version=1)
    params = types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(types.Position(0, 0), types.Position(40, 0)),
    )
    assert not await session.client.text_document_inlay_hint_async(params)  # off by default
    session.client.set_configuration({"inlayHints": {"enable": True}}, section="torchmode")
    session.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    await asyncio.sleep(0.5)
    hints = await session.client.text_document_inlay_hint_async(params)
    assert hints
    by_line = {h.position.line: h.label for h in hints}
    train_line = CLEAN.splitlines().index("    loss = (model(x) - y).pow(2).mean()")
    eval_line = CLEAN.splitlines().index("        out = model(x)")
    assert by_line[train_line] == "train:"
    assert by_line[eval_line] == "eval, no grad:"


async def test_malformed_requests_get_errors_and_the_server_keeps_serving(start: Starter) -> None:
    session = await start()
    uri = session.open("train.py", TRAIN_EVAL)
    await session.diagnostics(uri, version=1)
    protocol = session.client.protocol

    async def raw_request(method: str, params: object) -> object:
        # Written as raw JSON: the client library would refuse to send malformed params.
        msg_id = str(uuid.uuid4())
        future: Future[object] = Future()
        protocol._request_futures[msg_id] = future
        protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await asyncio.wait_for(asyncio.wrap_future(future), 10)

    with pytest.raises(JsonRpcException):
        await raw_request("textDocument/hover", {"textDocument": 5})
    with pytest.raises(JsonRpcException):
        await raw_request("textDocument/codeAction", {"textDocument": {"uri": uri}})
    with pytest.raises(JsonRpcException):
        await raw_request("torchmode/noSuchMethod", {})
    with pytest.raises(JsonRpcException):
        await session.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="torchmode.fixAll", arguments=[42])
        )
    assert await session.hover("file:///not/open.py", 0, 0) is None
    hover = await session.hover(uri, TRAIN_EVAL.splitlines().index("    out = model(x)"), 15)
    assert hover is not None
    version = session.change(uri, CLEAN)
    assert await session.diagnostics(uri, version=version) == []


NETS = """\
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
"""

USES_LIBRARY = """\
import torch

from mylib.nets import Net

model = Net()
model.load_state_dict(torch.load("model.pt"))
with torch.no_grad():
    for x in test_loader:
        y = model(x)
"""


async def test_model_class_outside_the_workspace_found_in_the_background(
    start: Starter, tmp_path: Path
) -> None:
    # The class lives outside the workspace, on the server's sys.path: the index cannot
    # see it, jedi finds its file in the background, and the finding is re-evaluated.
    library = tmp_path / "lib" / "mylib"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text("")
    (library / "nets.py").write_text(NETS)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    session = await start(
        root=workspace, init_options={"debounceMs": 0}, env={"PYTHONPATH": str(tmp_path / "lib")}
    )
    uri = session.open("infer.py", USES_LIBRARY)
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        published = session.publishes_for(uri)
        tm001 = [d for p in published[-1:] for d in p.diagnostics if d.code == "TM001"]
        if tm001 and tm001[0].severity == types.DiagnosticSeverity.Hint:
            break
        assert asyncio.get_running_loop().time() < deadline, published[-1:]
        await asyncio.sleep(0.1)
    assert "no mode-dependent layers" in tm001[0].message


def processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out.append((int(entry.name), ppid, cmd))
    return out


async def test_a_dying_analysis_worker_is_replaced(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    assert await session.diagnostics(uri, version=1)
    server = session.client._server
    assert server is not None
    workers = [pid for pid, ppid, cmd in processes() if ppid == server.pid and "lsp.engine" in cmd]
    assert len(workers) == 1
    os.kill(workers[0], signal.SIGKILL)
    version = session.change(uri, CLEAN)
    assert await session.diagnostics(uri, version=version, timeout=30) == []
    version = session.change(uri, TRAIN_EVAL)
    assert "TM001" in {d.code for d in await session.diagnostics(uri, version=version)}


async def test_rule_selection_per_workspace_folder(start: Starter, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    session = await start(
        folders=[first, second],
        scoped_configuration={
            "": {"torchmode": {"debounceMs": 0}},
            second.as_uri(): {"torchmode": {"debounceMs": 0, "ignore": ["TM001"]}},
        },
    )
    uri_first = session.open("first/train.py", TRAIN_EVAL)
    uri_second = session.open("second/train.py", TRAIN_EVAL)
    await codes_eventually(session, uri_first, True, "TM001")
    diagnostics = await codes_eventually(session, uri_second, False, "TM001")
    assert "TM002" in {d.code for d in diagnostics}


async def test_every_setting_is_resolved_per_workspace_folder(
    start: Starter, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    quiet = {"debounceMs": 0, "hover": {"enable": False}, "enable": False}
    session = await start(
        folders=[first, second],
        scoped_configuration={
            "": {"torchmode": {"debounceMs": 0}},
            second.as_uri(): {"torchmode": quiet},
        },
    )
    line = TRAIN_EVAL.splitlines().index("    out = model(x)")
    uri_first = session.open("first/train.py", TRAIN_EVAL)
    uri_second = session.open("second/train.py", TRAIN_EVAL)
    await codes_eventually(session, uri_first, True, "TM001")
    assert await session.hover(uri_first, line, 10) is not None
    assert await session.hover(uri_second, line, 10) is None  # hover.enable: false there
    await session.quiet(0.5)
    # enable: false there (a document opened before the settings arrived is cleared)
    assert not [p for p in session.publishes_for(uri_second)[-1:] if p.diagnostics]


async def test_in_process_engine_when_asked(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0}, env={"TORCHMODE_LSP_ENGINE": "thread"})
    uri = session.open("train.py", TRAIN_EVAL)
    diagnostics = await session.diagnostics(uri, version=1)
    assert {d.code for d in diagnostics} == {"TM001", "TM002"}
    actions = await session.code_actions(uri, diagnostics[:1], only=["quickfix"])
    assert any(a.title.endswith("Wrap the loop in with torch.no_grad():") for a in actions)
    server = session.client._server
    assert server is not None
    assert not [p for p in processes() if p[1] == server.pid]  # no worker process


async def test_a_document_over_the_time_budget_is_quarantined_and_the_worker_kept(
    start: Starter,
) -> None:
    # Every analysis "takes too long": the worker stops it itself and stays; the
    # document gets one message, no diagnostics, and no analysis in the server process.
    session = await start(init_options={"debounceMs": 0}, env={"TORCHMODE_LSP_TIMEOUT": "0.001"})
    server = session.client._server
    assert server is not None
    uri = session.open("train.py", TRAIN_EVAL)
    await wait_for_message(session, "too slow to analyse")
    assert await session.diagnostics(uri) == []
    workers = [pid for pid, ppid, cmd in processes() if ppid == server.pid and "lsp.engine" in cmd]
    for text in (TRAIN_EVAL + "\n", TRAIN_EVAL + "\n\n"):  # edits: still quarantined
        session.change(uri, text)
    await session.quiet(1.0)
    slow = [m for m in session.client.messages if "too slow" in m.message]
    assert len(slow) == 1, slow
    assert [p for p, pp, cmd in processes() if pp == server.pid and "lsp.engine" in cmd] == workers
    assert len(workers) == 1
    assert all(not p.diagnostics for p in session.publishes_for(uri))
    assert await session.hover(uri, 0, 0) is None  # the server still answers


async def wait_for_message(session: Session, text: str, timeout: float = 15.0) -> str:
    """The first window/showMessage containing ``text``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for message in session.client.messages:
            if text in message.message:
                return message.message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message with {text!r}: {session.client.messages}")


async def test_invalid_pyproject_is_reported_once_and_editor_settings_apply(
    start: Starter, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.torchmode]\nselect = ["TM999"]\n')
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    assert {d.code for d in await session.diagnostics(uri, version=1)} == {"TM001", "TM002"}
    version = session.change(uri, TRAIN_EVAL + "\n")
    await session.diagnostics(uri, version=version)
    await asyncio.sleep(0.3)
    reports = [m for m in session.client.log_messages if "TM999" in m.message]
    assert len(reports) == 1 and "pyproject.toml" in reports[0].message
