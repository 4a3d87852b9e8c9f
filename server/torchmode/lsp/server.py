"""The torchmode language server (pygls 2): thin wiring between LSP and the engine.

Handlers translate LSP requests into calls of ``torchmode.analyzer.analyze``,
``torchmode.fixes`` and ``torchmode.hover`` and translate the answers back. State:
the last good analysis per document (or notebook) and the editor settings. The engine
and the cross-file index live in a worker process (``engine``); heavy imports happen
there and on background threads, after the server has answered ``initialize``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..settings import Settings
from .actions import (
    FIX_ALL_COMMAND,
    FIX_ALL_KIND,
    NOTEBOOK_FIX_ALL_KIND,
    ActionRequest,
    FixVerifier,
    code_actions,
    fix_all_edit,
    offered,
)
from .actions import resolve as resolve_action
from .convert import (
    DiagnosticSupport,
    Encoding,
    client_position,
    client_range,
    diagnostics_by_uri,
    engine_position,
)
from .documents import Snapshot, notebook_snapshot, text_snapshot
from .engine import AnalysisTimeout, Engine, WorkerDied, make_engine
from .index import python_files, read_source
from .protocol import TorchmodeProtocol
from .resolve import ImportResolver
from .scheduler import Analysis, AnalysisScheduler
from .settings import DEFAULT_LSP_SETTINGS, LspSettings, engine_settings, parse_settings
from .settings import merge as merge_settings
from .transport import parse_host_port, run_stdio, run_tcp

log = logging.getLogger("torchmode.lsp")

SCAN_BUDGET_S = 10.0
SCAN_FILE_LIMIT = int(os.environ.get("TORCHMODE_INDEX_FILE_LIMIT", "5000"))
# Above this, a document gets diagnostics but no fixes: building and verifying fixes
# re-analyses the whole text once per fix.
FIX_MAX_CHARS = 1_000_000
RESOLVE_DELAY_S = 1.0  # quiet time before jedi looks for imported model classes
VERIFY_DELAY_S = 0.3  # pause in code action requests before fixes are verified
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithCells(
            notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")]
        )
    ],
    save=True,
)


class TorchmodeServer(LanguageServer):
    """Holds the server's state; the handlers below stay stateless."""

    def __init__(self) -> None:
        super().__init__(
            "torchmode",
            __version__,
            notebook_document_sync=NOTEBOOK_SYNC,
            protocol_cls=TorchmodeProtocol,
        )
        self.lsp_settings: LspSettings = DEFAULT_LSP_SETTINGS
        self.initial_settings: Any = None  # initializationOptions, the base of later settings
        self.folder_settings: dict[str, LspSettings] = {}  # multi-root: per folder path
        self.reported_problems: set[tuple[str, ...]] = set()
        self.encoding = Encoding()
        self.support = DiagnosticSupport()
        self.pull_mode = False
        self.engine: Engine = make_engine(on_restart=self.engine_restarted, on_notice=self.notify)
        self.notified: set[tuple[str, str]] = set()  # (document key, topic) told once
        self.stopping = threading.Event()
        self.index_ready = threading.Event()  # the first workspace scan is over
        self.tracked: set[str] = set()  # open Python documents and notebooks
        # One analysis thread (analyses queue; the GIL would serialise them anyway) and
        # one for code actions, so a fix is computed while an analysis runs.
        self.analysis_pool = ThreadPoolExecutor(1, thread_name_prefix="torchmode-analysis")
        self.action_pool = ThreadPoolExecutor(1, thread_name_prefix="torchmode-actions")
        self.background_pool = ThreadPoolExecutor(1, thread_name_prefix="torchmode-index")
        self.verify_pool = ThreadPoolExecutor(1, thread_name_prefix="torchmode-verify")
        self.verifier = FixVerifier()
        self.resolver = ImportResolver(self.engine)
        self.resolve_timers: dict[str, asyncio.TimerHandle] = {}
        self.verify_pending: dict[str, list[tuple[Snapshot, Any, Settings]]] = {}
        self.verify_timers: dict[str, asyncio.TimerHandle] = {}
        self.scheduler = AnalysisScheduler(
            self.analysis_pool, self.snapshot_of, self.analyse, self.deliver, self.too_slow
        )
        # uri -> (version, diagnostics) of the last publish
        self.published: dict[str, tuple[int | None, list[types.Diagnostic]]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- documents -------------------------------------------------------------------

    def open_text(self, uri: str) -> Any:
        """The open text document ``uri`` (None if not open)."""
        return self.workspace.text_documents.get(unquote(uri))

    def key_of(self, uri: str) -> str:
        """The scheduler key of a document: the notebook URI for a cell."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    def snapshot_of(self, key: str) -> Snapshot | None:
        """The current text of an open document or notebook."""
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

    # --- analysis --------------------------------------------------------------------

    def settings_for(self, path: str) -> Settings:
        """Engine settings for a file: editor settings combined with pyproject.toml."""
        project_settings = None
        try:
            from .. import config

            if path.endswith((".py", ".pyi", ".ipynb")) and config.find_config(parent_dir(path)):
                project_settings = config.load_settings(path)
        except ImportError:
            pass
        except Exception as exc:  # ConfigError and OSError: say so once, use the editor's
            self.report_problems((f"{exc}; using editor settings",))
        return engine_settings(self.lsp_settings_for(path), project_settings)

    def lsp_settings_for(self, path: str) -> LspSettings:
        """The editor settings of the workspace folder holding ``path`` (multi-root)."""
        best = ""
        for folder in self.folder_settings:
            if path.startswith(folder.rstrip("/") + "/") and len(folder) > len(best):
                best = folder
        return self.folder_settings[best] if best else self.lsp_settings

    def analyse(self, snap: Snapshot) -> Analysis:
        """Runs on the analysis thread."""
        settings = self.settings_for(snap.path)
        start = time.perf_counter()
        result = self.engine.analyze(snap.text, snap.path, settings)
        return Analysis(snap, result, settings, time.perf_counter() - start)

    def deliver(self, analysis: Analysis, previous: Analysis | None) -> None:
        """A current analysis finished: publish (push mode) unless it did not parse."""
        if too_deep(analysis.result.syntax_error):  # the CLI reports it; so do we
            snap = analysis.snapshot
            self.clear(snap.uris())
            self.notify_once(
                snap.key, "too deep", f"torchmode: {file_name(snap.key)} is nested too "
                "deeply to analyse; it has no torchmode diagnostics"
            )
            return
        if not analysis.parsed:
            return  # keep the last good diagnostics: no flicker, no syntax error of ours
        unresolved = any(
            getattr(e, "class_path", None) is None
            for e in getattr(analysis.result, "entities", None) or ()
        )
        if unresolved:  # a model whose class the engine could not find
            self.resolve_imports(analysis.snapshot)
        if self.pull_mode:
            return
        self.publish(analysis)

    def resolve_imports(self, snap: Snapshot) -> None:
        """Let jedi find files of imported model classes the index lacks: in the
        background, once the document has been quiet for a while (jedi holds the GIL
        for long stretches and must not slow down typing)."""
        if self.stopping.is_set() or not self.index_ready.is_set() or self.loop is None:
            return  # the workspace scan has not run yet; it may find them itself
        timer = self.resolve_timers.pop(snap.key, None)
        if timer is not None:
            timer.cancel()
        roots = workspace_roots(self)

        def job() -> None:
            if self.resolver.resolve(snap.key, snap.text, snap.path, roots):
                _refresh_from_thread(self)

        def start() -> None:
            self.resolve_timers.pop(snap.key, None)
            current = self.snapshot_of(snap.key)
            if current is not None and current.version == snap.version:
                self.background_pool.submit(job)

        self.resolve_timers[snap.key] = self.loop.call_later(RESOLVE_DELAY_S, start)

    def publish(self, analysis: Analysis) -> None:
        """Push diagnostics per document; an unchanged set for the same version is not resent."""
        findings = analysis.result.findings if self.lsp_settings.enable else []
        grouped = diagnostics_by_uri(findings, analysis.snapshot, self.encoding, self.support)
        for uri, diagnostics in grouped.items():
            version = analysis.snapshot.version
            if analysis.snapshot.cells:
                version = next((c.version for c in analysis.snapshot.cells if c.uri == uri), None)
            if self.published.get(uri) == (version, diagnostics):
                continue
            self.published[uri] = (version, diagnostics)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
            )

    def clear(self, uris: list[str]) -> None:
        for uri in uris:
            self.published.pop(uri, None)
            if not self.pull_mode:
                self.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
                )

    def schedule(self, key: str, *, now: bool = False) -> None:
        if not self.lsp_settings.enable:
            return
        self.scheduler.request(key, 0.0 if now else self.lsp_settings.debounce_s)

    def reanalyse_all(self) -> None:
        """Settings or the index changed: analyse every open document again (debounced, so
        a document being typed in is not analysed at an intermediate version)."""
        for key in list(self.tracked):
            self.schedule(key)
        if self.pull_mode and self.refresh_supported():
            self.workspace_diagnostic_refresh(None)

    def refresh_supported(self) -> bool:
        ws = self.client_capabilities.workspace
        return bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)

    # --- settings --------------------------------------------------------------------

    def apply_settings(self, raw: Any, *, initial: bool = False) -> None:
        """New editor settings: ``initializationOptions`` (``initial``), or a
        configuration answer / change notification merged on top of them."""
        if initial:
            self.initial_settings = raw
        else:
            raw = merge_settings(self.initial_settings, raw)
        old = self.lsp_settings
        self.lsp_settings = parse_settings(raw)
        if self.lsp_settings.problems:
            self.report_problems(self.lsp_settings.problems)
        if old != self.lsp_settings:
            if not self.lsp_settings.enable:
                for key in list(self.tracked):
                    snap = self.snapshot_of(key)
                    self.clear(snap.uris() if snap else [key])
            self.reanalyse_all()
            if old.inlay_hints_enable != self.lsp_settings.inlay_hints_enable:
                self.refresh_inlay_hints()

    def report_problems(self, problems: tuple[str, ...]) -> None:
        """Log invalid settings once per distinct set of problems (from any thread)."""
        if self.loop is not None and threading.current_thread() is not threading.main_thread():
            self.loop.call_soon_threadsafe(self.report_problems, problems)
            return
        if problems in self.reported_problems:
            return
        self.reported_problems.add(problems)
        message = "torchmode: invalid settings:\n" + "\n".join(f"- {p}" for p in problems)
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Warning, message=message)
        )

    def refresh_inlay_hints(self) -> None:
        ws = self.client_capabilities.workspace
        if ws and ws.inlay_hint and ws.inlay_hint.refresh_support:
            self.workspace_inlay_hint_refresh(None)

    async def fetch_configuration(self) -> None:
        ws = self.client_capabilities.workspace
        if not (ws and ws.configuration):
            return
        folders = list(self.workspace.folders.values())
        items = [types.ConfigurationItem(section="torchmode")] + [
            types.ConfigurationItem(section="torchmode", scope_uri=f.uri) for f in folders
        ]
        try:
            values = await self.workspace_configuration_async(types.ConfigurationParams(items))
        except Exception as exc:
            log.warning("workspace/configuration failed: %r", exc)
            return
        if not values:
            return
        # Rule selection may differ per workspace folder (multi-root); the rest is global.
        folder_settings = {}
        if len(folders) > 1:
            for folder, value in zip(folders, values[1:], strict=False):
                if value is not None:
                    parsed = parse_settings(merge_settings(self.initial_settings, value))
                    folder_settings[path_of(folder.uri)] = parsed
        changed = folder_settings != self.folder_settings
        self.folder_settings = folder_settings
        if values[0] is not None:
            self.apply_settings(values[0])
        if changed:
            self.reanalyse_all()

    # --- telling the user ---------------------------------------------------------------

    def notify(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show ``message`` and write it to the log (from any thread)."""
        if self.loop is None or self.stopping.is_set():
            log.warning("%s", message)
            return
        if threading.current_thread() is not threading.main_thread():
            self.loop.call_soon_threadsafe(self.notify, message, kind)
            return
        log.warning("%s", message)
        self.window_log_message(types.LogMessageParams(type=kind, message=message))
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def notify_once(self, key: str, topic: str, message: str) -> None:
        """``notify`` once per document and topic (until the document is closed)."""
        if (key, topic) in self.notified:
            return
        self.notified.add((key, topic))
        self.notify(message)

    def too_slow(self, key: str) -> None:
        """The scheduler quarantined ``key``: clear its diagnostics and say why once."""
        snap = self.snapshot_of(key)
        self.clear(snap.uris() if snap else [key])
        self.notify_once(
            key, "too slow", f"torchmode: {file_name(key)} is too slow to analyse; its "
            "diagnostics are cleared until it is saved again"
        )

    def fixes_off(self, req: ActionRequest) -> bool:
        """True (and said once) when the document is too large for fixes."""
        size = len(req.snapshot.text)
        if size <= FIX_MAX_CHARS:
            return False
        self.notify_once(
            req.snapshot.key, "fixes off", f"torchmode: fixes are off for "
            f"{file_name(req.snapshot.key)}: {size / 1e6:.1f} MB is over the "
            f"{FIX_MAX_CHARS / 1e6:g} MB limit"
        )
        return True

    # --- errors ----------------------------------------------------------------------

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log instead of popping up messages; request errors already answer the client."""
        from pygls.exceptions import FeatureRequestError

        if source == FeatureRequestError:
            return
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        try:
            self.window_log_message(
                types.LogMessageParams(type=types.MessageType.Error, message=f"torchmode: {error}")
            )
        except Exception:
            pass

    # --- helpers for requests ---------------------------------------------------------

    def action_request(self, uri: str, diagnostics: Any, only: Any) -> ActionRequest | None:
        key = self.key_of(uri)
        snap = self.snapshot_of(key)
        if snap is None:
            return None
        caps = self.client_capabilities
        ws_edit = caps.workspace.workspace_edit if caps.workspace else None
        action_caps = caps.text_document.code_action if caps.text_document else None
        resolve = action_caps.resolve_support if action_caps else None
        return ActionRequest(
            uri=uri,
            snapshot=snap,
            analysis=self.scheduler.last_good(key),
            settings=self.settings_for(snap.path),
            lsp_settings=self.lsp_settings,
            encoding=self.encoding,
            diagnostics=list(diagnostics or []),
            only=[str(getattr(k, "value", k)) for k in only] if only is not None else None,
            document_changes=bool(ws_edit and ws_edit.document_changes),
            resolve_edits=bool(resolve and "edit" in resolve.properties),
            engine=self.engine,
            verifier=self.verifier,
            verify_later=self.verify_later,
            open_snapshot=lambda other: self.snapshot_of(self.key_of(other)),
        )

    def engine_restarted(self) -> None:
        """A new worker process: index the workspace again (from the thread that saw it)."""
        if self.loop is not None and not self.stopping.is_set():
            self.loop.call_soon_threadsafe(start_index_scan, self)

    def verify_later(self, snap: Snapshot, finding: Any) -> None:
        """Verify a finding's fixes in the background (called from the action thread).

        Starts once code actions for the document have paused for ``VERIFY_DELAY_S``:
        verification competes for the GIL, and the requests of an open quick-fix
        menu must stay fast.
        """
        settings = self.settings_for(snap.path)
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._queue_verification, snap, finding, settings)

    def _queue_verification(self, snap: Snapshot, finding: Any, settings: Settings) -> None:
        self.verify_pending.setdefault(snap.key, []).append((snap, finding, settings))
        self.delay_verification(snap.key)

    def delay_verification(self, key: str) -> None:
        if key not in self.verify_pending or self.loop is None:
            return
        timer = self.verify_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self.verify_timers[key] = self.loop.call_later(
            VERIFY_DELAY_S, self._start_verification, key
        )

    def _start_verification(self, key: str) -> None:
        self.verify_timers.pop(key, None)
        for snap, finding, settings in self.verify_pending.pop(key, []):
            self.verify_pool.submit(self._verify_job, snap, finding, settings)

    def _verify_job(self, snap: Snapshot, finding: Any, settings: Settings) -> None:
        current = self.snapshot_of_threadsafe(snap.key)
        if current is not None and current != snap.version:
            self.verifier.release(snap, finding)
            return  # the document changed: nobody will ask for this version again
        # In the engine (worker, with its time budget: never libcst in this process) and
        # with its cross-file facts, as the analysis: a fix checked without them could
        # pass here and break a caller in another file.
        try:
            self.verifier.verify(
                snap, finding, lambda: offered(self.engine, snap, finding, settings)
            )
        except Exception as exc:
            log.info("verifying fixes of %s failed: %r", snap.key, exc)

    def snapshot_of_threadsafe(self, key: str) -> int | None:
        """The current version of a document, read without touching its text."""
        notebook = self.workspace.get_notebook_document(notebook_uri=key)
        if notebook is not None:
            return notebook.version
        doc = self.open_text(key)
        return doc.version if doc is not None else None


def path_of(uri: str) -> str:
    return to_fs_path(uri) or uri


def file_name(uri: str) -> str:
    """The last part of a document's path, for messages."""
    return path_of(uri).replace("\\", "/").rsplit("/", 1)[-1] or uri


def too_deep(syntax_error: str | None) -> bool:
    """The analysis gave up on nesting (not a syntax error the user is typing)."""
    text = (syntax_error or "").lower()
    return "too deep" in text or "recursion" in text or "too many nested" in text


def parent_dir(path: str) -> str:
    import os

    return os.path.dirname(os.path.abspath(path))


def create_server() -> TorchmodeServer:
    """Build the server and register its handlers."""
    server = TorchmodeServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: TorchmodeServer, params: types.InitializeParams) -> None:
        ls.loop = asyncio.get_running_loop()
        ls.encoding = Encoding(
            str(
                getattr(
                    ls.workspace.position_encoding,
                    "value",
                    ls.workspace.position_encoding or "utf-16",
                )
            )
        )
        ls.support = DiagnosticSupport.from_capabilities(params.capabilities)
        td = params.capabilities.text_document
        ls.pull_mode = bool(td and td.diagnostic)
        if params.initialization_options is not None:
            ls.apply_settings(params.initialization_options, initial=True)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: TorchmodeServer, params: types.InitializedParams) -> None:
        await register_watchers(ls)
        await ls.fetch_configuration()
        start_index_scan(ls)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: TorchmodeServer, params: None) -> None:
        ls.stopping.set()
        for pool in (ls.analysis_pool, ls.action_pool, ls.background_pool, ls.verify_pool):
            pool.shutdown(wait=False, cancel_futures=True)
        ls.engine.close()

    @server.feature(types.EXIT)
    def exit_(ls: TorchmodeServer, params: None) -> None:
        ls.stopping.set()
        ls.engine.close()

    # --- text documents ---------------------------------------------------------------

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TorchmodeServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        if doc.language_id != "python" and not doc.uri.endswith((".py", ".pyi")):
            return  # e.g. pyproject.toml: watched for settings, never analysed
        ls.tracked.add(doc.uri)
        ls.schedule(doc.uri, now=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TorchmodeServer, params: types.DidChangeTextDocumentParams) -> None:
        key = ls.key_of(params.text_document.uri)
        if key in ls.tracked:
            ls.schedule(key)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TorchmodeServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        doc = ls.open_text(uri)
        path = path_of(uri)
        if path.endswith("pyproject.toml"):
            settings_files_changed(ls)
            return
        if doc is not None and path.endswith((".py", ".pyi")):
            text = doc.source
            ls.background_pool.submit(reindex_and_refresh, ls, path, text)
        key = ls.key_of(uri)
        if ls.scheduler.lift(key):
            ls.notified.discard((key, "too slow"))
        if key in ls.tracked:
            ls.schedule(key, now=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TorchmodeServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.tracked.discard(uri)
        ls.scheduler.forget(uri)
        ls.notified = {n for n in ls.notified if n[0] != uri}
        ls.clear([uri])

    # --- notebooks --------------------------------------------------------------------

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def nb_open(ls: TorchmodeServer, params: types.DidOpenNotebookDocumentParams) -> None:
        ls.tracked.add(params.notebook_document.uri)
        ls.schedule(params.notebook_document.uri, now=True)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def nb_change(ls: TorchmodeServer, params: types.DidChangeNotebookDocumentParams) -> None:
        structure = params.change.cells.structure if params.change.cells else None
        if structure and structure.did_close:
            ls.clear([c.uri for c in structure.did_close])
        if params.notebook_document.uri in ls.tracked:
            ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def nb_save(ls: TorchmodeServer, params: types.DidSaveNotebookDocumentParams) -> None:
        if ls.scheduler.lift(params.notebook_document.uri):
            ls.notified.discard((params.notebook_document.uri, "too slow"))
        if params.notebook_document.uri in ls.tracked:
            ls.schedule(params.notebook_document.uri, now=True)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def nb_close(ls: TorchmodeServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.tracked.discard(params.notebook_document.uri)
        ls.scheduler.forget(params.notebook_document.uri)
        ls.notified = {n for n in ls.notified if n[0] != params.notebook_document.uri}
        ls.clear([c.uri for c in params.cell_text_documents])

    # --- pull diagnostics -------------------------------------------------------------

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="torchmode", inter_file_dependencies=True, workspace_diagnostics=False
        ),
    )
    async def pull_diagnostics(
        ls: TorchmodeServer, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        uri = params.text_document.uri
        key = ls.key_of(uri)
        if key not in ls.tracked or ls.snapshot_of(key) is None or not ls.lsp_settings.enable:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        if ls.scheduler.state(key) is None:
            ls.schedule(key, now=True)
        analysis = await ls.scheduler.settled(key)
        if analysis is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        grouped = diagnostics_by_uri(
            analysis.result.findings, analysis.snapshot, ls.encoding, ls.support
        )
        # Content-based: a re-analysis with the same findings keeps the same id.
        digest = hash((uri, tuple(analysis.result.findings), ls.encoding.name))
        result_id = f"{analysis.snapshot.version}:{digest & 0xFFFFFFFFFFFF:x}"
        if params.previous_result_id == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return types.RelatedFullDocumentDiagnosticReport(
            items=grouped.get(uri, []), result_id=result_id
        )

    # --- workspace --------------------------------------------------------------------

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: TorchmodeServer, params: types.DidChangeConfigurationParams
    ) -> None:
        ws = ls.client_capabilities.workspace
        if ws and ws.configuration:
            await ls.fetch_configuration()
        elif params.settings is not None:
            ls.apply_settings(params.settings)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(
        ls: TorchmodeServer, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        added = [path_of(f.uri) for f in params.event.added]
        if added:
            ls.background_pool.submit(index_folders, ls, added)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: TorchmodeServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        paths = []
        roots = workspace_roots(ls)
        for change in params.changes:
            path = path_of(change.uri)
            if not inside(path, roots):
                log.info("ignoring a watched-file event outside the workspace: %s", path)
                continue
            if path.endswith("pyproject.toml"):
                settings_files_changed(ls)
            elif path.endswith((".py", ".pyi")):
                paths.append((path, change.type == types.FileChangeType.Deleted))
        if paths:
            ls.background_pool.submit(reindex_files, ls, paths)

    # --- code actions -----------------------------------------------------------------

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND, NOTEBOOK_FIX_ALL_KIND],
            resolve_provider=True,
        ),
    )
    async def code_action(
        ls: TorchmodeServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        req = ls.action_request(
            params.text_document.uri, params.context.diagnostics, params.context.only
        )
        if req is None or ls.fixes_off(req):
            return None
        ls.delay_verification(req.snapshot.key)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(ls.action_pool, code_actions, req) or None
        except (AnalysisTimeout, WorkerDied) as exc:  # no fixes this time; nothing broke
            log.warning("code actions for %s: %s", req.uri, exc)
            return None

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(
        ls: TorchmodeServer, action: types.CodeAction
    ) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else None
        if data is None or "uri" not in data or action.edit is not None:
            return action
        req = ls.action_request(str(data["uri"]), [], [])
        if req is None or ls.fixes_off(req):
            return action
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(ls.action_pool, resolve_action, action, req)

    @server.command(FIX_ALL_COMMAND)
    async def fix_all_command(ls: TorchmodeServer, *args: Any) -> dict[str, Any]:
        """``torchmode.fixAll [uri | {uri, unsafe}]``: invoked explicitly, so unsafe fixes too."""
        uri, unsafe = parse_fix_all_args(args)
        req = ls.action_request(uri, [], [])
        if req is None:
            raise ValueError(f"document not open: {uri}")
        if ls.fixes_off(req):
            return {"applied": False, "fixed": 0, "remaining": 0}
        loop = asyncio.get_running_loop()
        edit, outcome = await loop.run_in_executor(
            ls.action_pool,
            lambda: fix_all_edit(
                req.snapshot,
                req.settings,
                unsafe=unsafe,
                encoding=req.encoding,
                document_changes=req.document_changes,
                engine=req.engine,
            ),
        )
        applied = False
        if edit is not None:
            response = await ls.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label="Fix all torchmode issues")
            )
            applied = bool(response.applied)
        return {
            "applied": applied,
            "fixed": len(outcome.fixed),
            "remaining": len(outcome.remaining),
        }

    # --- hover and inlay hints --------------------------------------------------------

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: TorchmodeServer, params: types.HoverParams) -> types.Hover | None:
        if not ls.lsp_settings.hover_enable:
            return None
        return hover_for(ls, params.text_document.uri, params.position)

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
    def inlay_hint(
        ls: TorchmodeServer, params: types.InlayHintParams
    ) -> list[types.InlayHint] | None:
        if not ls.lsp_settings.inlay_hints_enable:
            return None
        return inlay_hints_for(ls, params.text_document.uri, params.range)

    return server


def parse_fix_all_args(args: tuple[Any, ...]) -> tuple[str, bool]:
    """Arguments of ``torchmode.fixAll``: a URI, or ``{"uri": ..., "unsafe": bool}``."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    if not args:
        raise ValueError("torchmode.fixAll needs a document URI")
    first = args[0]
    if isinstance(first, dict):
        uri = first.get("uri")
        unsafe = first.get("unsafe", True)
    else:
        uri, unsafe = first, (args[1] if len(args) > 1 else True)
    if not isinstance(uri, str) or not isinstance(unsafe, bool):
        raise ValueError("torchmode.fixAll arguments: a URI string, or {uri: str, unsafe: bool}")
    return uri, unsafe


def hover_for(ls: TorchmodeServer, uri: str, position: types.Position) -> types.Hover | None:
    """Hover from the last good analysis; never analyses."""
    from ..hover import hover_info

    key = ls.key_of(uri)
    current = ls.snapshot_of(key)
    if current is None:
        return None
    pos = engine_position(current, uri, position, ls.encoding)
    if pos is None:
        return None
    analysis = ls.scheduler.last_good(key)
    entities: list[Any] = []
    calls: list[Any] = []
    known: dict[str, Any] = {}
    if analysis is not None and _line_unchanged(analysis.snapshot, current, pos.line):
        entities = analysis.entities_by_line.get(pos.line, [])
        calls = analysis.calls_by_line.get(pos.line, [])
        known = analysis.entities_by_name
    info = hover_info(
        current.source.line_text(pos.line),
        pos.line,
        pos.character,
        entities,
        calls,
        rule_doc=_rule_doc,
        entity_classes=known,
        line_label=lambda line: line_label(current, line),
    )
    if info is None:
        return None
    _, rng = client_range(current, info.range, ls.encoding)
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=info.markdown), range=rng
    )


def line_label(snap: Snapshot, line: int) -> str:
    """A line of the analysed text as the user sees it (notebooks: which cell)."""
    if not snap.cells:
        return f"line {line + 1}"
    slot = snap.slot_of_line(line) or 0
    return f"line {line - snap.start_lines[slot] + 1} of cell {snap.cells[slot].index + 1}"


def _line_unchanged(old: Snapshot, new: Snapshot, line: int) -> bool:
    """The analysis is usable for this line: same version, or same text at that line."""
    if old.version == new.version and old.text is new.text:
        return True
    return old.source.line_text(line) == new.source.line_text(line) and (
        len(old.source.lines) == len(new.source.lines)
    )


def _rule_doc(code: str) -> str:
    try:
        from ..rule_docs import rule_doc
    except ImportError:
        return ""
    return rule_doc(code)


def inlay_hints_for(ls: TorchmodeServer, uri: str, rng: types.Range) -> list[types.InlayHint]:
    from ..hover import describe_modes

    key = ls.key_of(uri)
    analysis = ls.scheduler.last_good(key)
    current = ls.snapshot_of(key)
    if analysis is None or current is None or analysis.snapshot.version != current.version:
        return []
    hints = []
    for call in analysis.result.forward_calls:
        call_uri, line, _ = analysis.snapshot.locate(call.line)
        if call_uri != uri or not rng.start.line <= line <= rng.end.line:
            continue
        modes = [m for m in ("train", "eval", "dynamic", "unknown") if m in call.modes]
        label = "|".join(modes) or "?"
        if call.grad_enabled is False:
            label += ", no grad"
        from ..findings import Position as EnginePosition

        _, position = client_position(
            analysis.snapshot, EnginePosition(call.line, call.character), ls.encoding
        )
        tooltip = f"{call.entity}: {describe_modes(call.modes)} mode here"
        if call.set_at_line is not None:
            tooltip += f" (set on {line_label(analysis.snapshot, call.set_at_line)})"
        hints.append(
            types.InlayHint(
                position=position, label=label + ":", padding_right=True, tooltip=tooltip
            )
        )
    return hints


# --- background work ---------------------------------------------------------------


async def register_watchers(ls: TorchmodeServer) -> None:
    """Ask the client to report changes of Python files and pyproject.toml."""
    ws = ls.client_capabilities.workspace
    watched = ws.did_change_watched_files if ws else None
    if not (watched and watched.dynamic_registration):
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[
            types.FileSystemWatcher(glob_pattern="**/*.py"),
            types.FileSystemWatcher(glob_pattern="**/pyproject.toml"),
        ]
    )
    try:
        await ls.client_register_capability_async(
            types.RegistrationParams(
                registrations=[
                    types.Registration(
                        id="torchmode-watched-files",
                        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=options,
                    )
                ]
            )
        )
    except Exception as exc:
        log.info("file watcher registration refused: %r", exc)


def workspace_roots(ls: TorchmodeServer) -> list[str]:
    roots = [path_of(folder.uri) for folder in ls.workspace.folders.values()]
    if not roots and ls.workspace.root_path:
        roots = [ls.workspace.root_path]
    return [r for r in roots if r]


def inside(path: str, roots: list[str]) -> bool:
    """``path`` is in one of the workspace folders (after resolving symlinks and ``..``)."""
    real = os.path.realpath(path)
    for root in roots:
        top = os.path.realpath(root)
        if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
            return True
    return False


def start_index_scan(ls: TorchmodeServer) -> None:
    if ls.stopping.is_set():
        return
    roots = workspace_roots(ls)
    loop = asyncio.get_running_loop()

    def scan() -> None:
        try:  # engine and fix engine imports: the first analysis and action don't pay them
            ls.engine.warm()
        except Exception as exc:
            log.error("the engine could not start: %r", exc)
        if roots:
            count = scan_files(ls, roots)
            log.info("indexed %d files", count)
        ls.index_ready.set()
        if not ls.stopping.is_set():
            loop.call_soon_threadsafe(ls.reanalyse_all)

    ls.background_pool.submit(scan)


def scan_files(ls: TorchmodeServer, roots: list[str], budget_s: float = SCAN_BUDGET_S) -> int:
    """Index the Python files under ``roots`` one by one (analyses interleave), within
    a time budget and a file cap; stopping early is logged and shown. Files are read
    here; the engine only summarises them."""
    start = time.perf_counter()
    count = seen = 0
    for path in python_files(roots, SCAN_FILE_LIMIT + 1):
        if ls.stopping.is_set():
            break
        seen += 1
        if seen > SCAN_FILE_LIMIT:
            ls.notify(
                f"torchmode: the workspace has more than {SCAN_FILE_LIMIT} Python files; "
                f"only the first {SCAN_FILE_LIMIT} are indexed, so facts from the others "
                "(model classes, helper functions) are unknown",
                types.MessageType.Info,
            )
            break
        if time.perf_counter() - start > budget_s:
            ls.notify(
                f"torchmode: indexing stopped after {budget_s:g} s at {count} files; facts "
                "from the other files (model classes, helper functions) are unknown",
                types.MessageType.Info,
            )
            break
        text = read_source(path)
        if text is not None and ls.engine.update(path, text):
            count += 1
    return count


def index_folders(ls: TorchmodeServer, roots: list[str]) -> None:
    if scan_files(ls, roots):
        _refresh_from_thread(ls)


def reindex_and_refresh(ls: TorchmodeServer, path: str, text: str) -> None:
    if ls.engine.update(path, text):
        refresh_affected(ls)


def reindex_files(ls: TorchmodeServer, changes: list[tuple[str, bool]]) -> None:
    for path, deleted in changes:
        if deleted:
            ls.engine.remove(path)
        else:
            ls.engine.update(path, read_source(path))
    refresh_affected(ls)


def refresh_affected(ls: TorchmodeServer) -> None:
    """After an index change (from a background thread): analyse again only the open
    documents whose last analysis read cross-file facts that changed."""
    loop = ls.loop
    if loop is None or ls.stopping.is_set():
        return
    try:
        by_path = {path_of(key): key for key in list(ls.tracked)}
        affected = ls.engine.affected(list(by_path))
    except Exception:  # changed meanwhile, or the worker died: analyse them all
        log.exception("finding the affected documents failed")
        _refresh_from_thread(ls)
        return
    keys = [by_path[path] for path in affected]

    def schedule() -> None:
        for key in keys:
            if key in ls.tracked:
                ls.schedule(key)
        if ls.pull_mode and ls.refresh_supported():
            ls.workspace_diagnostic_refresh(None)

    loop.call_soon_threadsafe(schedule)


def _refresh_from_thread(ls: TorchmodeServer) -> None:
    loop = ls.loop
    if loop is not None and not ls.stopping.is_set():
        loop.call_soon_threadsafe(ls.reanalyse_all)


def settings_files_changed(ls: TorchmodeServer) -> None:
    try:
        from .. import config

        config.clear_cache()
    except ImportError:
        pass
    ls.reanalyse_all()


# --- entry point -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``torchmode server [--tcp HOST:PORT] [--log-file FILE] [-v]``."""
    parser = argparse.ArgumentParser(
        prog="torchmode server", description="Run the torchmode language server."
    )
    parser.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket (debugging)")
    parser.add_argument("--log-file", help="write the server log to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    address = parse_host_port(args.tcp) if args.tcp else None
    if args.tcp and address is None:
        parser.error("--tcp expects HOST:PORT (an IPv6 host in brackets: [::1]:PORT)")
    level = logging.DEBUG if args.verbose else logging.INFO
    if args.log_file:
        try:
            private_file(args.log_file)
        except OSError as exc:
            parser.error(f"cannot write the log file {args.log_file}: {exc.strerror or exc}")
        logging.basicConfig(filename=args.log_file, level=level)
    else:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING if not args.verbose else level)
    # Analyses run on threads; hand the GIL over more often than every 5 ms so the
    # event loop answers hovers and code actions promptly while one runs.
    sys.setswitchinterval(0.001)
    server = create_server()
    if address is not None:
        run_tcp(server, *address)
    else:
        run_stdio(server)
    code = getattr(server.protocol, "exit_code", None) or 0
    # Leave now: a thread still reading a file or talking to the worker must not keep
    # the process alive after `exit` (interpreter shutdown would wait for it).
    server.stopping.set()
    server.engine.close()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def private_file(path: str) -> None:
    """Create ``path`` readable by its owner only (it logs document text), or make it so."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
