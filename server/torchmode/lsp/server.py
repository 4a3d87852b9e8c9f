"""The torchmode language server (pygls 2): the server object and the entry point.

``TorchmodeServer`` owns the ``Session`` (all mutable state), the ``EngineClient``
(where analyses and fixes run) and one executor for everything that must not run on
the event loop. The LSP methods are handled in ``handlers/`` (one module each),
registered and guarded by ``dispatch``; heavy imports happen on the executor after
the server has answered ``initialize``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from .actions import FixVerifier
from .dispatch import Tools, register
from .documents import Snapshot
from .engine_client import EngineClient, make_engine_client
from .protocol import TorchmodeProtocol
from .resolve import ImportResolver
from .scheduler import Analysis, AnalysisScheduler
from .session import Session, inside, path_of  # noqa: F401  (inside: re-exported)
from .transport import parse_host_port, run_stdio, run_tcp
from .verification import VerificationQueue

log = logging.getLogger("torchmode.lsp")
T = TypeVar("T")

# Analyses, code actions, fix verification, the workspace index and import lookups
# share these threads; the engine serialises its own calls (one worker pipe, or the
# index's lock in process), so more threads only let a short job pass a long one.
EXECUTOR_THREADS = 4
LOOP_READ_TIMEOUT_S = 10.0  # an executor thread waiting for the event loop to read state
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithCells(
            notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")]
        )
    ],
    save=True,
)


class TorchmodeServer(LanguageServer):
    """The session, the engine, the executor, and how to talk to the user."""

    def __init__(self) -> None:
        super().__init__(
            "torchmode",
            __version__,
            notebook_document_sync=NOTEBOOK_SYNC,
            protocol_cls=TorchmodeProtocol,
        )
        self.session = Session(lambda: self.workspace)
        self.stopping = threading.Event()
        self.index_ready = threading.Event()  # the first workspace scan is over
        self.loop: asyncio.AbstractEventLoop | None = None
        self.executor = ThreadPoolExecutor(EXECUTOR_THREADS, thread_name_prefix="torchmode")
        self.engine: EngineClient = make_engine_client(
            on_restart=self.engine_restarted, on_notice=self.notify
        )
        self.verifier = FixVerifier()
        self.verification = VerificationQueue(self)
        self.resolver = ImportResolver(self.engine)
        self.session.scheduler = AnalysisScheduler(
            self.executor, self.session.document, self.analyse, self.deliver, self.too_slow
        )

    @property
    def scheduler(self) -> AnalysisScheduler:
        assert self.session.scheduler is not None
        return self.session.scheduler

    # --- running work -------------------------------------------------------------------

    async def in_background(self, job: Callable[..., T], *args: Any) -> T:
        """Run ``job(*args)`` on the executor and wait for it (event loop only)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, job, *args)

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        """Start ``job(*args)`` on the executor; a failure is logged with its traceback."""
        if self.stopping.is_set():
            return

        def run() -> None:
            try:
                job(*args)
            except Exception:
                log.exception("background job %s failed", getattr(job, "__name__", job))

        self.executor.submit(run)

    def from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` on the event loop (from any thread)."""
        loop = self.loop
        if loop is None or self.stopping.is_set():
            return
        if threading.current_thread() is threading.main_thread():
            callback(*args)
        else:
            loop.call_soon_threadsafe(callback, *args)

    def read_on_loop(self, read: Callable[..., T], *args: Any) -> T:
        """``read(*args)`` run on the event loop, waited for from an executor thread:
        the session is only touched on the loop."""
        loop = self.loop
        if loop is None or threading.current_thread() is threading.main_thread():
            return read(*args)

        async def on_loop() -> T:
            return read(*args)

        return asyncio.run_coroutine_threadsafe(on_loop(), loop).result(LOOP_READ_TIMEOUT_S)

    def tools(self) -> Tools:
        """What background handlers may use besides their snapshot (all thread-safe)."""
        return Tools(
            engine=self.engine,
            verifier=self.verifier,
            verify_later=self.verification.later,
            hold_verification=self.verification.hold,
            tell_once=lambda key, topic, message: self.from_thread(
                self.notify_once, key, topic, message
            ),
            open_document=lambda uri: self.read_on_loop(self.open_document, uri),
        )

    def open_document(self, uri: str) -> Snapshot | None:
        """The current text of the open document (or notebook) holding ``uri``."""
        return self.session.document(self.session.key_of(uri))

    # --- analysis (the scheduler calls these) ----------------------------------------

    def analyse(self, snap: Snapshot) -> Analysis:
        """One analysis of a document's text; runs on the executor."""
        settings = self.session.engine_settings(snap.path, self.report_problems)
        start = time.perf_counter()
        result = self.engine.analyze(snap.text, snap.path, settings)
        return Analysis(snap, result, settings, time.perf_counter() - start)

    def deliver(self, analysis: Analysis, previous: Analysis | None) -> None:
        from .publish import deliver

        deliver(self, analysis)

    def too_slow(self, key: str) -> None:
        """The scheduler quarantined ``key``: clear its diagnostics and say why once."""
        from .publish import clear
        from .session import file_name

        snap = self.session.document(key)
        clear(self, snap.uris() if snap else [key])
        self.notify_once(
            key, "too slow", f"torchmode: {file_name(key)} is too slow to analyse; its "
            "diagnostics are cleared until it is saved again"
        )

    def schedule(self, key: str, *, now: bool = False) -> None:
        """Analyse document ``key`` after its folder's debounce (or now)."""
        settings = self.session.lsp_settings(key)
        if not settings.enable:
            return
        self.scheduler.request(key, 0.0 if now else settings.debounce_s)

    def reanalyse_all(self) -> None:
        """Settings or the project facts changed: analyse every open document again
        (debounced, so a document being typed in is not analysed at an intermediate
        version); a pull client is asked to pull again."""
        self.reanalyse(list(self.session.tracked))

    def reanalyse(self, keys: list[str]) -> None:
        """Analyse these open documents again (debounced); a pull client is asked to pull
        again (event loop)."""
        for key in keys:
            if key in self.session.tracked:
                self.schedule(key)
        client = self.session.client
        if client.pull_diagnostics and client.diagnostic_refresh:
            self.workspace_diagnostic_refresh(None)

    def engine_restarted(self) -> None:
        """A new worker process: index the workspace again (from the thread that saw it)."""
        from .background import start_index_scan

        self.from_thread(start_index_scan, self)

    # --- telling the user ----------------------------------------------------------------

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
        if self.session.first_time(key, topic):
            self.notify(message)

    def log_message(self, message: str, kind: types.MessageType) -> None:
        """Write ``message`` to the editor's log only (event loop)."""
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def report_problems(self, problems: tuple[str, ...]) -> None:
        """Log invalid settings once per distinct set of problems (from any thread)."""
        if self.loop is not None and threading.current_thread() is not threading.main_thread():
            self.loop.call_soon_threadsafe(self.report_problems, problems)
            return
        if not self.session.first_report(problems):
            return
        message = "torchmode: invalid settings:\n" + "\n".join(f"- {p}" for p in problems)
        self.log_message(message, types.MessageType.Warning)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors pygls met outside our handlers (``dispatch`` logs ours): log them."""
        from pygls.exceptions import FeatureRequestError

        if source == FeatureRequestError:
            return
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        try:
            self.log_message(f"torchmode: {error}", types.MessageType.Error)
        except Exception:
            pass

    def stop(self) -> None:
        """Stop background work and the engine (shutdown, exit, end of the process)."""
        self.stopping.set()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.engine.close()


def create_server() -> TorchmodeServer:
    """Build the server and register its handlers."""
    from .handlers import HANDLERS

    server = TorchmodeServer()
    register(server, HANDLERS)
    return server


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
