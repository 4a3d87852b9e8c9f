"""The server's state: the only mutable part of the language server.

``Session`` holds what the editor told the server (open documents through pygls'
workspace, client capabilities, settings per workspace folder) and what the server
derived from it (which documents are analysed, what was published, what the user
was told). It is changed only on the event loop, by the handlers of notifications.

Work off the event loop never sees the session: it gets a ``DocumentSnapshot``, an
immutable view of one document (text, version, position encoding, resolved
settings, last good analysis) taken on the event loop when the request arrived.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import Workspace

from ..settings import Settings
from .convert import DiagnosticSupport, Encoding
from .documents import Snapshot, notebook_snapshot, text_snapshot
from .scheduler import Analysis, AnalysisScheduler
from .settings import DEFAULT_LSP_SETTINGS, LspSettings, engine_settings, folder_of

log = logging.getLogger("torchmode.lsp")


def path_of(uri: str) -> str:
    """The file system path of a ``file:`` URI (other URIs are their own path)."""
    return to_fs_path(uri) or uri


def file_name(uri: str) -> str:
    """The last part of a document's path, for messages."""
    return path_of(uri).replace("\\", "/").rsplit("/", 1)[-1] or uri


@dataclass(frozen=True)
class ClientFacts:
    """What the client can do, read once from ``initialize``."""

    encoding: Encoding = Encoding()
    support: DiagnosticSupport = DiagnosticSupport()
    pull_diagnostics: bool = False  # the client asks for diagnostics (LSP 3.17)
    document_changes: bool = False  # versioned edits in a WorkspaceEdit
    resolve_edits: bool = False  # code actions may be listed without their edit
    configuration: bool = False  # answers workspace/configuration
    watch_files: bool = False  # lets the server register file watchers
    diagnostic_refresh: bool = False
    inlay_hint_refresh: bool = False

    @classmethod
    def from_initialize(cls, caps: types.ClientCapabilities, encoding: str) -> ClientFacts:
        ws, td = caps.workspace, caps.text_document
        action = td.code_action if td else None
        resolve = action.resolve_support if action else None
        edit = ws.workspace_edit if ws else None
        return cls(
            encoding=Encoding(encoding),
            support=DiagnosticSupport.from_capabilities(caps),
            pull_diagnostics=bool(td and td.diagnostic),
            document_changes=bool(edit and edit.document_changes),
            resolve_edits=bool(resolve and "edit" in resolve.properties),
            configuration=bool(ws and ws.configuration),
            watch_files=bool(
                ws and ws.did_change_watched_files
                and ws.did_change_watched_files.dynamic_registration
            ),
            diagnostic_refresh=bool(ws and ws.diagnostics and ws.diagnostics.refresh_support),
            inlay_hint_refresh=bool(ws and ws.inlay_hint and ws.inlay_hint.refresh_support),
        )


@dataclass(frozen=True)
class DocumentSnapshot:
    """One document as a background handler sees it: nothing here changes."""

    uri: str  # the URI the request named (a cell's, in a notebook)
    document: Snapshot  # the text document, or the notebook's code cells joined
    settings: LspSettings  # the editor settings of the document's workspace folder
    engine_settings: Settings  # the same combined with pyproject.toml
    client: ClientFacts
    analysis: Analysis | None  # the last analysis that parsed (maybe of an older version)

    @property
    def key(self) -> str:
        return self.document.key


@dataclass(frozen=True)
class SettingsState:
    """The editor settings: ``initializationOptions`` (the base of later answers), the
    global answer and one per workspace folder path. Replaced whole, never changed in
    place, so a background thread reading it sees one consistent value."""

    initial: Any = None
    global_settings: LspSettings = DEFAULT_LSP_SETTINGS
    folders: Mapping[str, LspSettings] = field(default_factory=dict)

    def for_path(self, path: str) -> LspSettings:
        folder = folder_of(path, self.folders)
        return self.folders[folder] if folder is not None else self.global_settings

    def every(self) -> list[LspSettings]:
        return [self.global_settings, *self.folders.values()]


class Session:
    """Documents, capabilities, settings and what was published; event loop only."""

    def __init__(self, workspace: Callable[[], Workspace]) -> None:
        self._workspace = workspace
        self.client = ClientFacts()
        self.settings = SettingsState()
        self.tracked: set[str] = set()  # open Python documents and notebooks (keys)
        # uri -> (version, diagnostics) of the last publish
        self.published: dict[str, tuple[int | None, list[types.Diagnostic]]] = {}
        self.told: set[tuple[str, str]] = set()  # (document key, topic) the user was told
        self.reported: set[tuple[str, ...]] = set()  # sets of invalid settings logged
        # (document key, topic) -> the version the user was last told about
        self.told_version: dict[tuple[str, str], int | None] = {}
        self.scheduler: AnalysisScheduler | None = None  # set by the server
        # document key -> timer before jedi looks for its imported model classes
        self.resolve_timers: dict[str, asyncio.TimerHandle] = {}

    @property
    def workspace(self) -> Workspace:
        return self._workspace()

    # --- documents -----------------------------------------------------------------

    def open_text(self, uri: str) -> Any:
        """The open text document ``uri`` (None if not open)."""
        return self.workspace.text_documents.get(unquote(uri))

    def key_of(self, uri: str) -> str:
        """The key a document is analysed under: the notebook's URI for a cell."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    def document(self, key: str) -> Snapshot | None:
        """The current text of an open document or notebook (cells joined)."""
        notebook = self.workspace.get_notebook_document(notebook_uri=key)
        if notebook is not None:
            cells = []
            for index, cell in enumerate(notebook.cells):
                if cell.kind != types.NotebookCellKind.Code:
                    continue
                doc = self.open_text(cell.document)
                if doc is None or (doc.language_id not in (None, "python")):
                    continue
                cells.append((index, cell.document, doc.version, doc.source))
            return notebook_snapshot(key, notebook.version, path_of(key), cells)
        doc = self.open_text(key)
        if doc is None:
            return None
        return text_snapshot(key, doc.version, doc.source, path_of(key))

    def version_of(self, key: str) -> int | None:
        """The current version of a document, read without building its text."""
        notebook = self.workspace.get_notebook_document(notebook_uri=key)
        if notebook is not None:
            return notebook.version
        doc = self.open_text(key)
        return doc.version if doc is not None else None

    def last_good(self, key: str) -> Analysis | None:
        return self.scheduler.last_good(key) if self.scheduler is not None else None

    def snapshot(
        self, uri: str, report: Callable[[tuple[str, ...]], None]
    ) -> DocumentSnapshot | None:
        """An immutable view of the document ``uri`` belongs to (None: not open)."""
        key = self.key_of(uri)
        document = self.document(key)
        if document is None:
            return None
        return DocumentSnapshot(
            uri=uri,
            document=document,
            settings=self.settings.for_path(document.path),
            engine_settings=self.engine_settings(document.path, report),
            client=self.client,
            analysis=self.last_good(key),
        )

    # --- settings --------------------------------------------------------------------

    def lsp_settings(self, key: str) -> LspSettings:
        """The editor settings of the workspace folder holding document ``key``."""
        return self.settings.for_path(path_of(key))

    def engine_settings(self, path: str, report: Callable[[tuple[str, ...]], None]) -> Settings:
        """Engine settings for a file: its folder's editor settings combined with
        pyproject.toml. A broken pyproject.toml is reported (``report``) and skipped.
        Safe on any thread: it reads one ``SettingsState`` value."""
        from .. import config

        project_settings = None
        try:
            if path.endswith((".py", ".pyi", ".ipynb")) and config.find_config(parent_dir(path)):
                project_settings = config.load_settings(path)
        except Exception as exc:  # ConfigError and OSError: say so once, use the editor's
            report((f"{exc}; using editor settings",))
        return engine_settings(self.settings.for_path(path), project_settings)

    def roots(self) -> list[str]:
        """The workspace folders' paths (the root path for a client without folders)."""
        roots = [path_of(folder.uri) for folder in self.workspace.folders.values()]
        if not roots and self.workspace.root_path:
            roots = [self.workspace.root_path]
        return [r for r in roots if r]

    # --- what the user was told ------------------------------------------------------

    def first_time(self, key: str, topic: str) -> bool:
        """True the first time (per document, until it closes) for ``topic``."""
        if (key, topic) in self.told:
            return False
        self.told.add((key, topic))
        return True

    def first_report(self, problems: tuple[str, ...]) -> bool:
        """True the first time this set of settings problems is reported."""
        if problems in self.reported:
            return False
        self.reported.add(problems)
        return True

    def first_time_in_version(self, key: str, topic: str, version: int | None) -> bool:
        """True the first time for ``topic`` in this version of the document."""
        if (key, topic) in self.told_version and self.told_version[key, topic] == version:
            return False
        self.told_version[key, topic] = version
        return True

    def forget(self, key: str) -> None:
        """A document closed: its analysis state and what the user was told go."""
        self.tracked.discard(key)
        if self.scheduler is not None:
            self.scheduler.forget(key)
        self.told = {t for t in self.told if t[0] != key}
        self.told_version = {t: v for t, v in self.told_version.items() if t[0] != key}


def parent_dir(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def inside(path: str, roots: list[str]) -> bool:
    """``path`` is in one of the workspace folders (after resolving symlinks and ``..``)."""
    real = os.path.realpath(path)
    for root in roots:
        top = os.path.realpath(root)
        if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
            return True
    return False
