"""Where the engine runs: a worker process (default) or threads of the server process.

The server's event loop must answer hovers and code actions while a 5,000-line file
is analysed. On threads, the analysis holds the GIL (``ast.parse`` alone for tens
of milliseconds), so the loop waits; in a worker process it does not. The worker
owns the cross-file ``ProjectIndex`` too: index updates, analyses and verified
fixes run there in the order they were asked for, with no lock.

Both implementations offer the same blocking calls; the server calls them from
its own threads. A crashed worker is replaced and re-indexes the workspace.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from ..findings import AnalysisResult, Finding
from ..settings import Settings
from .index import WorkspaceIndex

log = logging.getLogger(__name__)


class ThreadEngine:
    """The engine in this process; calls that use the index hold its lock."""

    def __init__(self) -> None:
        self.index = WorkspaceIndex()

    def warm(self) -> None:
        from .. import analyzer, fixes  # noqa: F401

    def analyze(self, text: str, path: str, settings: Settings) -> AnalysisResult:
        from ..analyzer import analyze

        with self.index.lock:
            return analyze(text, path, settings, self.index.project())

    def offered_fixes(self, text: str, path: str, finding: Finding, settings: Settings) -> Any:
        from ..fixes import offered_fixes

        with self.index.lock:
            return offered_fixes(text, path, finding, settings, self.index.project())

    def fix_all(self, text: str, path: str, settings: Settings, unsafe: bool) -> Any:
        from ..fixes import fix_all

        with self.index.lock:
            return fix_all(text, path, settings, unsafe=unsafe, project=self.index.project())

    def update(self, path: str, text: str | None = None) -> bool:
        return self.index.update(path, text)

    def remove(self, path: str) -> None:
        self.index.remove(path)

    def scan(self, roots: list[str], budget_s: float) -> int:
        return self.index.scan(roots, budget_s)

    def known_classes(self, qualnames: list[str]) -> list[bool]:
        with self.index.lock:
            project = self.index.project()
            if project is None:
                return [True] * len(qualnames)  # no index: nothing to look for
            return [project.find_class(q) is not None for q in qualnames]

    def close(self) -> None:
        pass


# --- the worker process ----------------------------------------------------------------
#
# A plain child process (``python -m torchmode.lsp.engine``) talking pickled,
# length-prefixed frames over its stdin/stdout: no multiprocessing machinery (its
# resource tracker alone is another 12 MB process). The worker exits when its stdin
# closes, i.e. when the server goes away, however it goes away.

MAX_RESTARTS = 3
CALL_TIMEOUT_S = float(os.environ.get("TORCHMODE_LSP_TIMEOUT", "60"))  # one engine call
_HEADER = struct.Struct("!Q")


class WorkerDied(RuntimeError):
    """The worker process is gone (crashed, killed, or its pipe broke)."""


def _write_frame(stream: BinaryIO, payload: Any) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_frame(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def worker_main() -> None:
    """The worker's loop: one request at a time, in order."""
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print must not corrupt the replies
    engine = ThreadEngine()
    while True:
        try:
            method, args = _read_frame(requests)
        except EOFError:
            return  # the server is gone
        try:
            reply: tuple[str, Any] = ("ok", getattr(engine, method)(*args))
        except Exception as exc:
            reply = ("error", exc)
        try:
            _write_frame(replies, reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            _write_frame(replies, ("error", RuntimeError(repr(reply[1]))))
        except BrokenPipeError:
            return


class ProcessEngine:
    """The engine in one worker process; calls are serialised (one pipe)."""

    def __init__(self, on_restart: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._on_restart = on_restart
        self._closed = False
        self._restarts = 0
        self._fallback: ThreadEngine | None = None  # after MAX_RESTARTS dead workers

    def _process(self) -> subprocess.Popen[bytes]:
        if self._closed:
            raise RuntimeError("the engine is shut down")
        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "torchmode.lsp.engine"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None,
            )
        return self._proc

    def _run(self, method: str, *args: Any) -> Any:
        if self._fallback is not None:
            return getattr(self._fallback, method)(*args)
        with self._lock:
            proc = self._process()
            assert proc.stdin is not None and proc.stdout is not None
            # An engine stuck on some input must not stall every later analysis.
            watchdog = threading.Timer(CALL_TIMEOUT_S, proc.kill)
            watchdog.daemon = True
            watchdog.start()
            try:
                _write_frame(proc.stdin, (method, args))  # type: ignore[arg-type]
                status, value = _read_frame(proc.stdout)  # type: ignore[arg-type]
            except (EOFError, BrokenPipeError, OSError) as exc:
                self._worker_died(proc)
                raise WorkerDied(f"the analysis worker died during {method}") from exc
            finally:
                watchdog.cancel()
        if status == "error":
            raise value
        return value

    def _worker_died(self, proc: subprocess.Popen[bytes]) -> None:
        """Called with the lock held: forget the process; later calls start a new one."""
        proc.kill()
        proc.wait()
        self._proc = None
        if self._closed:
            return
        self._restarts += 1
        if self._restarts > MAX_RESTARTS:
            log.error("the analysis worker keeps dying; analysing in the server")
            self._fallback = ThreadEngine()
        else:
            log.error("the analysis worker died; starting a new one")
        if self._on_restart is not None:
            self._on_restart()  # the new worker's index is empty: re-index

    def warm(self) -> None:
        self._run("warm")
        from .. import fixes  # noqa: F401  (edits and noqa comments are made here)

    def analyze(self, text: str, path: str, settings: Settings) -> AnalysisResult:
        result: AnalysisResult = self._run("analyze", text, path, settings)
        return result

    def offered_fixes(self, text: str, path: str, finding: Finding, settings: Settings) -> Any:
        return self._run("offered_fixes", text, path, finding, settings)

    def fix_all(self, text: str, path: str, settings: Settings, unsafe: bool) -> Any:
        return self._run("fix_all", text, path, settings, unsafe)

    def update(self, path: str, text: str | None = None) -> bool:
        return bool(self._run("update", path, text))

    def remove(self, path: str) -> None:
        self._run("remove", path)

    def scan(self, roots: list[str], budget_s: float) -> int:
        return int(self._run("scan", roots, budget_s))

    def known_classes(self, qualnames: list[str]) -> list[bool]:
        known: list[bool] = self._run("known_classes", qualnames)
        return known

    def close(self) -> None:
        self._closed = True
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()  # the worker sees EOF and exits
            except OSError:
                pass


Engine = ThreadEngine | ProcessEngine


def make_engine(on_restart: Callable[[], None] | None = None) -> Engine:
    """A worker process unless ``TORCHMODE_LSP_ENGINE=thread``."""
    if os.environ.get("TORCHMODE_LSP_ENGINE", "process") == "thread":
        return ThreadEngine()
    return ProcessEngine(on_restart)


if __name__ == "__main__":
    worker_main()
