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
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from ..findings import AnalysisResult, Finding
from ..incremental_parse import LastParse
from ..process_memory import release_free_memory, without_cyclic_gc
from ..settings import Settings
from .index import WorkspaceIndex

if TYPE_CHECKING:
    from ..replay import Answers

log = logging.getLogger(__name__)


class ThreadEngine:
    """The engine in this process; calls that use the index hold its lock."""

    def __init__(self) -> None:
        self.index = WorkspaceIndex()
        # per analysed document: its settings and what its last analysis read of the
        # project facts (which documents an index change affects, ``affected``)
        self.reads: dict[str, tuple[Settings, Any]] = {}
        self.parses = LastParse()   # of the document last analysed, for its next version

    def warm(self) -> None:
        from .. import analyzer  # noqa: F401
        from ..fixes import verify  # noqa: F401  (libcst and the fix machinery)
        from ..process_memory import freeze_long_lived

        freeze_long_lived()

    def analyze(self, text: str, path: str, settings: Settings) -> AnalysisResult:
        return self._analyze(text, path, settings, None)[0]

    def analyze_answered(self, text: str, path: str, settings: Settings
                         ) -> tuple[AnalysisResult, Answers | None, float]:
        """The analysis, every answer it got from the project facts (None: there are
        none, no file is indexed) and its CPU seconds: what the server needs to
        analyse the document's next version itself (``routing.py``)."""
        from ..replay import Answers

        return self._analyze(text, path, settings, Answers())

    def _analyze(self, text: str, path: str, settings: Settings, answers: Answers | None
                 ) -> tuple[AnalysisResult, Answers | None, float]:
        from ..analyzer import analyze
        from ..reads import RecordingFacts

        start = time.thread_time()
        with self.index.lock, without_cyclic_gc():
            project = self.index.project()
            parse = self.parses.parser(path)
            if project is None:
                result = analyze(text, path, settings, None, parse)
                return result, None, time.thread_time() - start
            recording = RecordingFacts(project.facts(settings), answers)
            result = analyze(text, path, settings, recording, parse)
            self.reads[path] = (settings, recording.reads())
            return result, answers, time.thread_time() - start

    def affected(self, paths: list[str]) -> list[str]:
        """The documents among ``paths`` whose last analysis read something of the
        project facts that is no longer so (or that were never analysed here): after
        an index change, only these need analysing again."""
        with self.index.lock:
            project = self.index.project()
            if project is None:
                return list(paths)
            return [path for path in paths if self._affected(project, path)]

    def _affected(self, project: Any, path: str) -> bool:
        found = self.reads.get(path)
        if found is None:
            return True
        settings, reads = found
        try:
            return not reads.still_hold(project.facts(settings))
        except Exception:  # when in doubt, analyse again
            log.exception("checking what %s read failed", path)
            return True

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
        self.parses.forget(path)

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
# A plain child process talking pickled, length-prefixed frames over its stdin/stdout:
# no multiprocessing machinery (its resource tracker alone is another 12 MB process).
# The worker exits when its stdin closes, i.e. when the server goes away, however it
# goes away.
#
# It is started isolated (``-I``: no current folder, PYTHONPATH or user site on
# ``sys.path``) in torchmode's own folder: a project file named ``warnings.py`` or a
# project folder named ``torchmode`` is never imported, whatever folder the editor
# started the server in.

MAX_RESTARTS = 3
CALL_TIMEOUT_S = float(os.environ.get("TORCHMODE_LSP_TIMEOUT", "60"))  # one engine call
KILL_GRACE_S = 10.0  # a worker that does not stop on its own is killed this much later
# After a document this large, a worker holding more than WORKER_RSS_LIMIT is replaced:
# it keeps its peak memory (772 MB after a 10 MB file) for as long as it runs.
HUGE_TEXT_CHARS = 1_000_000
WORKER_RSS_LIMIT = int(os.environ.get("TORCHMODE_WORKER_RSS_LIMIT_MB", "600")) * 2**20
# Calls that analyse a document: they get the time budget (the index's own calls do not).
_BUDGETED = frozenset({"analyze", "analyze_answered", "offered_fixes", "fix_all"})
_HEADER = struct.Struct("!Q")
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from torchmode.lsp.engine import worker_main; worker_main()"
)


class WorkerDied(RuntimeError):
    """The worker process is gone (crashed, killed, or its pipe broke)."""


class AnalysisTimeout(RuntimeError):
    """A document took longer than the time budget (the worker stopped the call, or,
    stuck outside Python, was replaced)."""


class _Expired(BaseException):
    """Raised in the worker by the budget's alarm. A BaseException: the engine's
    last-resort ``except Exception`` guards must not turn it into a result."""


def worker_command() -> list[str]:
    """How the worker is started: isolated from the server's working folder."""
    return [sys.executable, "-I", "-c", _BOOT, _PACKAGE_PARENT]


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


class _Budget:
    """Interrupts the worker's own call after ``seconds`` (SIGALRM; main thread)."""

    def __init__(self) -> None:
        self.active = False
        self.available = hasattr(signal, "setitimer")  # not on Windows: the server's kill
        if self.available:
            signal.signal(signal.SIGALRM, self._expired)

    def _expired(self, signum: int, frame: Any) -> None:
        if self.active:
            self.active = False
            raise _Expired(f"over the time budget of {CALL_TIMEOUT_S:g} s")

    def run(self, call: Callable[..., Any], args: Any, seconds: float | None) -> Any:
        if seconds is None or not self.available:
            return call(*args)
        self.active = True
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return call(*args)
        finally:
            self.active = False
            signal.setitimer(signal.ITIMER_REAL, 0)


def worker_main() -> None:
    """The worker's loop: one request at a time, in order."""
    os.chdir(_PACKAGE_PARENT)
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print must not corrupt the replies
    engine = ThreadEngine()
    budget = _Budget()
    while True:
        try:
            method, args = _read_frame(requests)
        except EOFError:
            return  # the server is gone
        seconds = CALL_TIMEOUT_S if method in _BUDGETED else None
        try:
            value = budget.run(getattr(engine, method), args, seconds)
            reply: tuple[str, Any] = ("ok", value)
        except _Expired as exc:
            reply = ("timeout", str(exc))
        except Exception as exc:
            reply = ("error", exc)
        try:
            _write_frame(replies, reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            _write_frame(replies, ("error", RuntimeError(repr(reply[1]))))
        except BrokenPipeError:
            return
        if method in _BUDGETED:   # the server has its answer: now tidy up
            release_free_memory()


def _rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (Linux; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class ProcessEngine:
    """The engine in one worker process; calls are serialised (one pipe)."""

    def __init__(
        self,
        on_restart: Callable[[], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._on_restart = on_restart
        self._on_notice = on_notice or (lambda message: None)
        self._closed = False
        self.restarts = 0  # workers that died
        self.recycled = 0  # workers replaced because they had grown too big
        self.start_failures = 0
        self._fallback: ThreadEngine | None = None  # after MAX_RESTARTS dead workers

    @property
    def in_process(self) -> bool:
        return self._fallback is not None

    def _process(self) -> subprocess.Popen[bytes] | None:
        """The worker, started on first use; None when it cannot be started (then the
        engine falls back to this process, and says so)."""
        if self._closed:
            raise RuntimeError("the engine is shut down")
        if self._proc is None:
            try:
                self._proc = subprocess.Popen(
                    worker_command(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=None,
                    cwd=_PACKAGE_PARENT,
                )
            except (OSError, ValueError) as exc:
                self.start_failures += 1
                self._fall_back(f"the analysis worker could not be started ({exc})")
                return None
        return self._proc

    def _fall_back(self, reason: str) -> None:
        log.error("%s; analysing in the server process", reason)
        self._fallback = ThreadEngine()
        self._on_notice(f"torchmode: {reason}; analysing in the editor's server process")
        if self._on_restart is not None:
            self._on_restart()  # the in-process index is empty: index again

    def _run(self, method: str, *args: Any) -> Any:
        if self._fallback is not None:
            return getattr(self._fallback, method)(*args)
        with self._lock:
            proc = self._process()
            if proc is None:
                assert self._fallback is not None
                return getattr(self._fallback, method)(*args)
            status, value = self._call(proc, method, args)
            if method in _BUDGETED and len(args[0]) >= HUGE_TEXT_CHARS:
                self._recycle_if_big(proc)
        if status == "timeout":
            raise AnalysisTimeout(value)
        if status == "error":
            raise value
        return value

    def _call(self, proc: subprocess.Popen[bytes], method: str, args: Any) -> tuple[str, Any]:
        """One request/reply; a worker stuck past its own budget is killed."""
        assert proc.stdin is not None and proc.stdout is not None
        # The worker stops a slow call itself; this catches one stuck outside Python.
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            proc.kill()

        watchdog = threading.Timer(CALL_TIMEOUT_S + KILL_GRACE_S, kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            _write_frame(proc.stdin, (method, args))  # type: ignore[arg-type]
            reply: tuple[str, Any] = _read_frame(proc.stdout)  # type: ignore[arg-type]
            return reply
        except (EOFError, BrokenPipeError, OSError) as exc:
            if killed.is_set():  # too slow, not broken: replaced, not counted as a death
                self._stop(proc)
                if self._on_restart is not None:
                    self._on_restart()
                return "timeout", f"over the time budget of {CALL_TIMEOUT_S:g} s"
            self._worker_died(proc)
            raise WorkerDied(f"the analysis worker died during {method}") from exc
        finally:
            watchdog.cancel()

    def _recycle_if_big(self, proc: subprocess.Popen[bytes]) -> None:
        """Replace the worker if it holds more than the limit (after a huge document)."""
        rss = _rss_bytes(proc.pid)
        if rss is None or rss <= WORKER_RSS_LIMIT:
            return
        log.info("the analysis worker uses %d MB; starting a fresh one", rss >> 20)
        self.recycled += 1
        self._stop(proc)
        if self._on_restart is not None:
            self._on_restart()

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = None
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:  # unflushed bytes to a dead worker
                    pass

    def _worker_died(self, proc: subprocess.Popen[bytes]) -> None:
        """Called with the lock held: forget the process; later calls start a new one."""
        self._stop(proc)
        if self._closed:
            return
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            self._fall_back("the analysis worker keeps dying")
            return
        log.error("the analysis worker died; starting a new one")
        if self._on_restart is not None:
            self._on_restart()  # the new worker's index is empty: re-index

    def warm(self) -> None:
        self._run("warm")
        # "ignore this line" edits are made here; the rest of the fixes (and libcst)
        # are loaded in this process only if the worker sends a fix back
        from ..fixes import suppress  # noqa: F401

    def analyze(self, text: str, path: str, settings: Settings) -> AnalysisResult:
        result: AnalysisResult = self._run("analyze", text, path, settings)
        return result

    def analyze_answered(self, text: str, path: str, settings: Settings
                         ) -> tuple[AnalysisResult, Answers | None, float]:
        found: tuple[AnalysisResult, Answers | None, float] = self._run(
            "analyze_answered", text, path, settings)
        return found

    def affected(self, paths: list[str]) -> list[str]:
        found: list[str] = self._run("affected", paths)
        return found

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

    def worker_pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    def close(self) -> None:
        self._closed = True
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()  # the worker sees EOF and exits
            except OSError:
                pass


if __name__ == "__main__":
    worker_main()
