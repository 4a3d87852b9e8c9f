"""Drive the real torchmode server over stdio with pytest-lsp.

Every test here runs with VS Code's client capabilities (pytest-lsp's
``visual-studio-code`` profile, extended where a test needs a newer LSP feature:
pull diagnostics, notebooks, inlay hints) and turns LSP specification warnings
into errors.
"""

from __future__ import annotations

import asyncio
import copy
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

SERVER = [sys.executable, "-m", "torchmode", "server"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"))


class Session:
    """A started server plus what the client saw."""

    def __init__(self, client: LanguageClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.publishes: list[types.PublishDiagnosticsParams] = []
        self.applied_edits: list[types.WorkspaceEdit] = []
        self.registrations: list[types.Registration] = []
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.capabilities: types.ClientCapabilities | None = None

    # documents ------------------------------------------------------------------------

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()

    def open(self, name: str, text: str, *, write: bool = True) -> str:
        path = self.root / name
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        uri = path.as_uri()
        self.texts[uri] = text
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        return uri

    def change(self, uri: str, text: str) -> int:
        """Replace the whole text (a full-document change); returns the new version."""
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return self.versions[uri]

    def save(self, uri: str) -> None:
        Path(uri.removeprefix("file://")).write_text(self.texts[uri], encoding="utf-8")
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    # waiting ------------------------------------------------------------------------

    def publishes_for(self, uri: str) -> list[types.PublishDiagnosticsParams]:
        return [p for p in self.publishes if p.uri == uri]

    async def diagnostics(
        self, uri: str, version: int | None = None, *, after: int = 0, timeout: float = 15.0
    ) -> list[types.Diagnostic]:
        """Wait for a publish for ``uri`` (of ``version`` if given) beyond the first ``after``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.publishes_for(uri)[after:]
            for params in reversed(found):
                if version is None or params.version == version:
                    return list(params.diagnostics)
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"no diagnostics for {uri} version {version} within {timeout}s; "
            f"saw {[(p.version, len(p.diagnostics)) for p in self.publishes_for(uri)]}"
        )

    async def quiet(self, seconds: float = 0.6) -> None:
        await asyncio.sleep(seconds)

    # requests -----------------------------------------------------------------------

    async def raw_request(self, method: str, params: Any) -> Any:
        """Send a request and return the raw JSON result (no client-side structuring)."""
        protocol = self.client.protocol
        msg_id = str(uuid.uuid4())
        future: Future[Any] = Future()
        protocol._request_futures[msg_id] = future
        if not isinstance(params, dict):
            params = protocol._converter.unstructure(params)
        protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        response = await asyncio.wait_for(asyncio.wrap_future(future), 30)
        return response

    async def code_actions(
        self,
        uri: str,
        diagnostics: list[types.Diagnostic],
        only: list[str] | None = None,
        rng: types.Range | None = None,
    ) -> list[types.CodeAction]:
        """Code actions, structured by the rule VS Code uses: an item whose ``command``
        is a string is a ``Command``, else a ``CodeAction`` (lsprotocol's converter
        mistakes a CodeAction carrying a command for a Command)."""
        rng = rng or (
            diagnostics[0].range
            if diagnostics
            else types.Range(types.Position(0, 0), types.Position(0, 0))
        )
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=diagnostics, only=only),
        )
        raw = await self.raw_request(types.TEXT_DOCUMENT_CODE_ACTION, params)
        converter = self.client.protocol._converter
        return [
            converter.structure(item, types.CodeAction)
            for item in raw or []
            if not isinstance(item.get("command"), str)
        ]

    async def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        )


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 columns) the way an editor does: from the end backwards."""
    lines = text.splitlines(keepends=True) or [""]

    def offset(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        line = lines[pos.line]
        units = 0
        for index, ch in enumerate(line):
            if units >= pos.character:
                return sum(len(x) for x in lines[: pos.line]) + index
            units += 2 if ord(ch) > 0xFFFF else 1
        return sum(len(x) for x in lines[: pos.line]) + len(line.rstrip("\r\n"))

    # Inserts at the same position appear in array order (LSP): apply the later one first.
    spans = sorted(
        (
            (offset(e.range.start), offset(e.range.end), index, e.new_text)
            for index, e in enumerate(edits)
        ),
        reverse=True,
    )
    for start, end, _, new in spans:
        text = text[:start] + new + text[end:]
    return text


def apply_workspace_edit(session: Session, edit: types.WorkspaceEdit) -> dict[str, str]:
    """Apply a workspace edit like VS Code: a ``TextDocumentEdit`` whose version is not the
    document's current version is refused (``ValueError``). Returns the new texts."""
    out: dict[str, str] = {}
    for change in edit.document_changes or []:
        assert isinstance(change, types.TextDocumentEdit)
        uri = change.text_document.uri
        if change.text_document.version is not None and (
            change.text_document.version != session.versions[uri]
        ):
            raise ValueError(
                f"stale edit for {uri}: edit is for version "
                f"{change.text_document.version}, document is at "
                f"{session.versions[uri]}"
            )
        out[uri] = apply_text_edits(
            out.get(uri, session.texts[uri]),
            [e for e in change.edits if isinstance(e, types.TextEdit)],
        )
    for uri, edits in (edit.changes or {}).items():
        out[uri] = apply_text_edits(out.get(uri, session.texts[uri]), list(edits))
    return out


def vscode_capabilities(
    *,
    pull: bool = False,
    notebooks: bool = False,
    encodings: list[str] | None = None,
    inlay_hints: bool = True,
) -> types.ClientCapabilities:
    """VS Code's profile, plus the LSP 3.17 features a current VS Code has."""
    caps = copy.deepcopy(client_capabilities("visual-studio-code"))
    assert caps.text_document is not None and caps.workspace is not None
    if pull:
        caps.text_document.diagnostic = types.DiagnosticClientCapabilities(
            dynamic_registration=True, related_document_support=False
        )
        caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
            refresh_support=True
        )
    if notebooks:
        caps.notebook_document = types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities(
                dynamic_registration=True, execution_summary_support=True
            )
        )
    if inlay_hints:
        caps.text_document.inlay_hint = types.InlayHintClientCapabilities(dynamic_registration=True)
        caps.workspace.inlay_hint = types.InlayHintWorkspaceClientCapabilities(refresh_support=True)
    if encodings:
        caps.general = types.GeneralClientCapabilities(position_encodings=encodings)
    return caps


Starter = Callable[..., Awaitable[Session]]


@pytest_asyncio.fixture
async def start(tmp_path: Path) -> AsyncIterator[Starter]:
    """``await start(...)`` -> a Session with an initialized server rooted at tmp_path."""
    sessions: list[Session] = []

    async def _start(
        *,
        capabilities: types.ClientCapabilities | None = None,
        init_options: Any = None,
        configuration: dict[str, Any] | None = None,
        root: Path | None = None,
        env: dict[str, str] | None = None,
        scoped_configuration: dict[str, Any] | None = None,
        folders: list[Path] | None = None,
        command: list[str] | None = None,
    ) -> Session:
        root = root or tmp_path
        client = LanguageClient(
            converter_factory=default_converter,
            configuration=scoped_configuration or ({"": configuration} if configuration else None),
        )
        features = {
            k: v
            for k, v in DEFAULT_CLIENT_FEATURES.items()
            if k != types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
        }
        register_lsp_features(client, features)
        session = Session(client, root)

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(_: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
            session.publishes.append(params)
            client.diagnostics[params.uri] = params.diagnostics

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def on_register(_: LanguageClient, params: types.RegistrationParams) -> None:
            session.registrations.extend(params.registrations)

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def on_apply(
            _: LanguageClient, params: types.ApplyWorkspaceEditParams
        ) -> types.ApplyWorkspaceEditResult:
            session.applied_edits.append(params.edit)
            return types.ApplyWorkspaceEditResult(applied=True)

        await client.start_io(
            *(command or SERVER), cwd=str(root), env={**os.environ, **(env or {})}
        )
        sessions.append(session)
        caps = capabilities or vscode_capabilities()
        session.capabilities = caps
        await client.initialize_session(
            types.InitializeParams(
                capabilities=caps,
                root_uri=root.as_uri(),
                initialization_options=init_options,
                workspace_folders=[
                    types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in (folders or [root])
                ],
            )
        )
        return session

    yield _start
    for session in sessions:
        server = session.client._server
        if server is not None and server.returncode is not None:
            continue  # the test ended the session itself
        try:
            await asyncio.wait_for(session.client.shutdown_session(), 10)
        finally:
            await session.client.stop()
