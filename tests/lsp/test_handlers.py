"""Every handler, driven over stdio with the client capabilities of VS Code and of
Neovim (pytest-lsp's profiles), each editor sending its settings the way it does:
VS Code sends its declared defaults raw (``select: []`` included), Neovim only what
the user wrote. An empty ``select`` must keep every rule on."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from .conftest import Session, Starter, apply_workspace_edit, vscode_capabilities
from .sources import CLEAN, TRAIN_EVAL
from .test_settings_declaration import CLIENT_ONLY, PACKAGE_JSON
from .test_workspace import UTILS

OUT_LINE = TRAIN_EVAL.splitlines().index("    out = model(x)")


def vscode_section(**overrides: Any) -> dict[str, Any]:
    """Section ``torchmode`` as VS Code sends it: every declared default, nested."""
    properties = json.loads(PACKAGE_JSON.read_text())["contributes"]["configuration"]["properties"]
    section: dict[str, Any] = {}
    for key, entry in properties.items():
        node = section
        *parents, last = key.removeprefix("torchmode.").split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = copy.deepcopy(entry["default"])
    for key in CLIENT_ONLY:
        assert key.split(".")[0] in section  # sent too; the server ignores them
    section.update(overrides)
    return section


def profile(name: str) -> tuple[types.ClientCapabilities, dict[str, Any], Any]:
    """(capabilities, workspace/configuration answer, initializationOptions)."""
    if name == "vscode":
        section = vscode_section(debounceMs=0, inlayHints={"enable": True})
        return vscode_capabilities(), {"torchmode": section}, {"settings": section}
    caps = client_capabilities("neovim")
    settings = {"select": [], "debounceMs": 0, "inlayHints": {"enable": True}}
    return caps, {"torchmode": settings}, {"settings": settings}


PROFILES = ["vscode", "neovim"]


async def current_diagnostics(session: Session, uri: str, version: int) -> list[types.Diagnostic]:
    """The diagnostics of ``version``: pulled when the client pulls, else published."""
    caps = session.capabilities
    assert caps is not None
    if caps.text_document is not None and caps.text_document.diagnostic is not None:
        report = await session.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
        return list(report.items)
    return await session.diagnostics(uri, version=version)


async def start_profile(start: Starter, name: str) -> Session:
    caps, configuration, init = profile(name)
    return await start(capabilities=caps, configuration=configuration, init_options=init)


@pytest.mark.parametrize("name", PROFILES)
async def test_document_sync_and_an_empty_select(start: Starter, name: str) -> None:
    session = await start_profile(start, name)
    uri = session.open("train.py", TRAIN_EVAL)  # didOpen
    codes = {d.code for d in await current_diagnostics(session, uri, 1)}
    assert codes == {"TM001", "TM002"}  # select: [] is "not set": every rule on
    version = session.change(uri, CLEAN)  # didChange
    assert await current_diagnostics(session, uri, version) == []
    version = session.change(uri, TRAIN_EVAL)
    assert {d.code for d in await current_diagnostics(session, uri, version)} == codes
    session.save(uri)  # didSave
    session.close(uri)  # didClose
    if not session.capabilities.text_document.diagnostic:  # type: ignore[union-attr]
        await wait_until(lambda: not session.publishes_for(uri)[-1].diagnostics)


@pytest.mark.parametrize("name", PROFILES)
async def test_hover_inlay_hints_and_code_actions(start: Starter, name: str) -> None:
    session = await start_profile(start, name)
    uri = session.open("train.py", TRAIN_EVAL)
    diagnostics = await current_diagnostics(session, uri, 1)
    hover = await session.hover(uri, OUT_LINE, 10)  # hover
    assert hover is not None and "train" in str(hover.contents)
    hints = await session.client.text_document_inlay_hint_async(  # inlayHint
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(OUT_LINE + 1, 0)),
        )
    )
    assert hints and any(h.position.line == OUT_LINE for h in hints)
    tm001 = next(d for d in diagnostics if d.code == "TM001")
    actions = await session.code_actions(uri, [tm001], only=["quickfix"])  # codeAction
    insert = next(a for a in actions if a.title.endswith("Insert model.eval() before the loop"))
    assert insert.edit is not None
    fixed = apply_workspace_edit(session, insert.edit)[uri]
    assert "model.eval()\nfor x, y in val_loader:" in fixed
    (fix_all,) = await session.code_actions(uri, [], only=["source.fixAll.torchmode"])
    assert fix_all.edit is None  # both editors resolve the edit lazily
    resolved = await session.client.code_action_resolve_async(fix_all)  # codeAction/resolve
    assert resolved.edit is not None and resolved.kind == "source.fixAll.torchmode"
    # Both fixes here are unsafe: "fix all safe issues" edits nothing.
    assert apply_workspace_edit(session, resolved.edit).get(uri, TRAIN_EVAL) == TRAIN_EVAL


@pytest.mark.parametrize("name", PROFILES)
async def test_fix_all_command(start: Starter, name: str) -> None:
    session = await start_profile(start, name)
    uri = session.open("train.py", TRAIN_EVAL)
    await current_diagnostics(session, uri, 1)
    result = await session.client.workspace_execute_command_async(  # executeCommand
        types.ExecuteCommandParams(command="torchmode.fixAll", arguments=[uri])
    )
    assert result["applied"] is True and result["fixed"] >= 1
    fixed = apply_workspace_edit(session, session.applied_edits[-1])[uri]
    version = session.change(uri, fixed)
    assert await current_diagnostics(session, uri, version) == []


@pytest.mark.parametrize("name", PROFILES)
async def test_workspace_handlers(start: Starter, name: str, tmp_path: Path) -> None:
    session = await start_profile(start, name)
    uri = session.open("train.py", TRAIN_EVAL)
    assert {d.code for d in await current_diagnostics(session, uri, 1)} == {"TM001", "TM002"}
    _, configuration, _ = profile(name)
    section = {**configuration["torchmode"], "ignore": ["TM002"]}
    session.client.set_configuration(section, section="torchmode")
    session.client.workspace_did_change_configuration(  # didChangeConfiguration
        types.DidChangeConfigurationParams(settings={"torchmode": section})
    )
    version = session.change(uri, TRAIN_EVAL + "\n")
    await wait_until_codes(session, uri, version, {"TM001"})
    (tmp_path / "utils.py").write_text(UTILS)
    session.client.workspace_did_change_watched_files(  # didChangeWatchedFiles
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent((tmp_path / "utils.py").as_uri(), types.FileChangeType.Created)
            ]
        )
    )
    other = tmp_path.parent / f"{tmp_path.name}-second"
    other.mkdir()
    session.client.workspace_did_change_workspace_folders(  # didChangeWorkspaceFolders
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=other.as_uri(), name="second")], removed=[]
            )
        )
    )
    version = session.change(uri, TRAIN_EVAL)
    await wait_until_codes(session, uri, version, {"TM001"})  # still serving, same settings


async def wait_until_codes(session: Session, uri: str, version: int, codes: set[str]) -> None:
    """The diagnostics of ``version`` (or a later analysis of it) have exactly ``codes``."""
    for _ in range(40):
        if {d.code for d in await current_diagnostics(session, uri, version)} == codes:
            return
        version = session.change(uri, session.texts[uri] + "\n")
        await asyncio.sleep(0.1)
    raise AssertionError(f"never {codes}")


async def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.05)


def test_every_handler_module_is_registered_once() -> None:
    """A new feature is a module in ``handlers/`` plus its line in ``HANDLERS``: a
    module left out of the list would never be called."""
    import pkgutil

    from torchmode.lsp import handlers
    from torchmode.lsp.server import create_server

    modules = {info.name for info in pkgutil.iter_modules(handlers.__path__)}
    listed = [module.__name__.rsplit(".", 1)[1] for module in handlers.HANDLERS]
    assert sorted(listed) == sorted(modules)
    server = create_server()
    try:
        features = server.protocol.fm.features
        commands = server.protocol.fm.commands
        for module in handlers.HANDLERS:
            assert callable(module.handle)
            if hasattr(module, "COMMAND"):
                assert module.COMMAND in commands
            else:
                assert module.METHOD in features, module.__name__
    finally:
        server.stop()
