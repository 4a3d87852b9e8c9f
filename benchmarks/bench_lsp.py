"""Language server latency and memory: torchmode vs a bare pygls floor vs ruff server.

Measures, in one run, on a ~300-, ~1,500- and ~5,000-line real file (from the
installed ``transformers`` if present, else from ``torch``'s own sources):

* edit -> ``publishDiagnostics`` (debounce 0), p50/p95 over 50 edits (appended lines,
  or with ``--typing middle`` keystrokes in the middle of a function), for
  torchmode, a bare pygls server that only runs ``ast.parse`` (the floor, defined
  below: ``--floor-server``) and ``ruff server`` (all rules);
* code action (fix edits) p95 and hover p95 on the large file (a buggy evaluation
  loop is appended so there is something to fix);
* start to ready (spawn -> ``initialize`` answered), median of 5;
* resident memory of the torchmode server after opening the three files and 150 edits;
* with ``--hop``, only what the hop to the worker process costs: a call that does
  nothing there, and each file analysed in process and through the worker, in
  alternation (what routing a file's analysis in process would save).

Usage: ``python benchmarks/bench_lsp.py [--edits 50] [--json out.json]
[--before SRC [--rounds 3]]``. ``--before`` adds another torchmode (the ``server``
folder of an older source tree, e.g. from ``git archive``) to the same run, measured
in rounds alternating with this one, so a change is compared with what it replaces
under the same machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGETS = (300, 1500, 5000)

BUGGY_TAIL = '''

# --- appended by bench_lsp.py: an evaluation loop with a forgotten eval()/no_grad ---
import torch
from torch import nn


class BenchNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))


def bench_train(train_loader, val_loader):
    bench_model = BenchNet()
    optimizer = torch.optim.SGD(bench_model.parameters(), lr=0.1)
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = (bench_model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
    for x, y in val_loader:
        out = bench_model(x)
        print(out)
'''


# --- the floor: bare pygls + ast.parse ----------------------------------------------


def floor_server() -> None:
    """A pygls server that parses each version with ``ast.parse`` and publishes nothing."""
    import ast

    from lsprotocol import types
    from pygls.lsp.server import LanguageServer

    server = LanguageServer("floor", "0")

    def check(ls: LanguageServer, uri: str) -> None:
        doc = ls.workspace.get_text_document(uri)
        try:
            ast.parse(doc.source)
        except SyntaxError:
            pass
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[], version=doc.version))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        check(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        check(ls, params.text_document.uri)

    server.start_io()


# --- a minimal JSON-RPC client ------------------------------------------------------


class Client:
    """Just enough LSP client to time a server without a client library in the way."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.publishes: dict[str, asyncio.Queue[tuple[float, dict[str, Any]]]] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def spawn(cls, cmd: list[str], cwd: str) -> Client:
        proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=cwd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        return cls(proc)

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        self._write({"id": self.next_id, "method": method, "params": params})
        return await asyncio.wait_for(future, 120)

    def notify(self, method: str, params: Any) -> None:
        self._write({"method": method, "params": params})

    def queue(self, uri: str) -> asyncio.Queue[tuple[float, dict[str, Any]]]:
        return self.publishes.setdefault(uri, asyncio.Queue())

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            length = 0
            while True:
                line = await stdout.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            message = json.loads(await stdout.readexactly(length))
            now = time.perf_counter()
            if "method" in message and "id" in message:  # a request from the server
                method = message["method"]
                result: Any = None
                if method == "workspace/configuration":
                    result = [None for _ in message["params"]["items"]]
                self._write({"id": message["id"], "result": result})
            elif "method" in message:
                if message["method"] == "textDocument/publishDiagnostics":
                    params = message["params"]
                    self.queue(params["uri"]).put_nowait((now, params))
            elif message.get("id") in self.pending:
                future = self.pending.pop(message["id"])
                if "error" in message:
                    future.set_exception(RuntimeError(message["error"]))
                else:
                    future.set_result(message.get("result"))

    async def initialize(self, root: str, options: Any = None) -> float:
        start = time.perf_counter()
        await self.request("initialize", {
            "processId": os.getpid(), "rootUri": Path(root).as_uri(),
            "capabilities": {
                "textDocument": {"publishDiagnostics": {"relatedInformation": True,
                                                        "versionSupport": True,
                                                        "dataSupport": True,
                                                        "codeDescriptionSupport": True},
                                 "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {
                                     "valueSet": ["", "quickfix", "source"]}},
                                     "isPreferredSupport": True, "dataSupport": True},
                                 "hover": {"contentFormat": ["markdown", "plaintext"]},
                                 "synchronization": {"didSave": True}},
                "workspace": {"workspaceEdit": {"documentChanges": True},
                              "configuration": True},
                "general": {"positionEncodings": ["utf-16"]},
            },
            "initializationOptions": options,
            "workspaceFolders": [{"uri": Path(root).as_uri(), "name": "bench"}],
        })
        elapsed = time.perf_counter() - start
        self.notify("initialized", {})
        return elapsed

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.request("shutdown", None), 10)
            self.notify("exit", None)
            await asyncio.wait_for(self.proc.wait(), 10)
        except (asyncio.TimeoutError, RuntimeError, ConnectionError):
            self.proc.kill()
        self.reader.cancel()

    def rss_mb(self) -> tuple[float, float]:
        """Resident memory of the server process, and of it plus its child processes
        (torchmode's analysis worker, multiprocessing's resource tracker)."""
        pids = [self.proc.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    pids.append(int(entry.name))
        sizes = [_rss_mb(pid) for pid in pids]
        return sizes[0], sum(sizes)


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- files ---------------------------------------------------------------------------


def candidate_files() -> tuple[str, list[Path]]:
    """Real Python files: transformers if installed, else torch."""
    import importlib.util

    for package in ("transformers", "torch"):
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            base = Path(next(iter(spec.submodule_search_locations)))
            return package, [p for p in base.rglob("*.py") if "test" not in p.name]
    return "generated", []


def pick_files(workdir: Path) -> list[tuple[str, Path, int]]:
    package, candidates = candidate_files()
    counted = []
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        counted.append((text.count("\n"), path, text))
    picked = []
    preferred = {5000: "trainer.py"}
    for target in TARGETS:
        choice = None
        if package == "transformers" and target in preferred:
            choice = next((c for c in counted if c[1].name == preferred[target]
                           and c[1].parent.name == "transformers"), None)
        if choice is None and counted:
            choice = min(counted, key=lambda c: abs(c[0] - target))
        if choice is None:
            text = generated_source(target)
            name = f"generated_{target}.py"
        else:
            text = choice[2]
            name = f"{choice[1].stem}_{target}.py"
        dest = workdir / name
        dest.write_text(text, encoding="utf-8")
        picked.append((f"{package}:{choice[1].name if choice else name}", dest, text.count("\n")))
    return picked


def generated_source(lines: int) -> str:
    chunk = BUGGY_TAIL.replace("BenchNet", "Net{n}").replace("bench_", "f{n}_")
    out, n = [], 0
    while sum(s.count("\n") for s in out) < lines:
        out.append(chunk.replace("{n}", str(n)))
        n += 1
    return "".join(out)


# --- measurements ----------------------------------------------------------------------


def measure_hop(calls: int) -> None:
    """The worker hop alone: the round trip of a call that does nothing, and each file
    analysed in process (``ThreadEngine``) and through the worker (``ProcessEngine``),
    alternating which goes first, with the (un)pickling of request and result."""
    sys.path.insert(0, str(ROOT / "server"))
    from torchmode.lsp.engine import ProcessEngine, ThreadEngine
    from torchmode.settings import DEFAULT_SETTINGS

    workdir = Path(tempfile.mkdtemp(prefix="bench_lsp_"))
    worker, here = ProcessEngine(), ThreadEngine()
    try:
        worker.warm()
        here.warm()
        empty = [_timed(worker.known_classes, []) for _ in range(200)]
        print(f"worker round trip of a call that does nothing: p50 {pct(empty, 50):.2f} ms, "
              f"p95 {pct(empty, 95):.2f} ms")
        for label, path, lines in pick_files(workdir):
            text = path.read_text(encoding="utf-8")
            times: dict[str, list[float]] = {"in process": [], "worker": []}
            engines = [("in process", here), ("worker", worker)]
            for n in range(calls):
                edited = text + f"_bench_{n} = {n}\n"
                for name, engine in engines if n % 2 else engines[::-1]:
                    times[name].append(_timed(engine.analyze, edited, str(path),
                                              DEFAULT_SETTINGS))
            request = ("analyze", (text, str(path), DEFAULT_SETTINGS))
            reply = ("ok", here.analyze(text, str(path), DEFAULT_SETTINGS))
            pickling = [_timed(_round_trip, request, reply) for _ in range(20)]
            inside, through = pct(times["in process"], 50), pct(times["worker"], 50)
            print(f"  {lines:5d} lines ({label}): analysis p50 in process {inside:7.1f} ms, "
                  f"through the worker {through:7.1f} ms ({through - inside:+.1f} ms); "
                  f"(un)pickling request + result p50 {pct(pickling, 50):.2f} ms")
    finally:
        worker.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _timed(call: Any, *args: Any) -> float:
    start = time.perf_counter()
    call(*args)
    return (time.perf_counter() - start) * 1000


def _round_trip(*frames: Any) -> None:
    """Each frame pickled and unpickled, as the worker's pipe carries it."""
    import pickle

    for frame in frames:
        pickle.loads(pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def open_doc(client: Client, path: Path, text: str) -> str:
    uri = path.as_uri()
    queue = client.queue(uri)
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}})
    await asyncio.wait_for(queue.get(), 120)
    return uri


TYPED_NAME = "_bench_typed"   # every prefix of it is a statement: each version parses
TYPING = "end"                # where the edits go: "end" or "middle" (``--typing``)


def appended_edits(text: str, edits: int) -> list[tuple[dict[str, Any], str]]:
    """``_bench_N = N`` on a new line at the end of the file, ``edits`` times."""
    line = text.count("\n")
    return [({"start": {"line": line + n, "character": 0},
              "end": {"line": line + n, "character": 0}}, f"_bench_{n} = {n}\n")
            for n in range(edits)]


def typed_edits(text: str, edits: int) -> list[tuple[dict[str, Any], str]]:
    """Keystrokes in the middle of the file: a new line after the simple statement of a
    function body nearest the middle, ``_bench_typed`` typed into it a character at a
    time, deleted again, the line removed; repeated. Mostly edits within one line, a
    few that add or remove one."""
    import ast

    lines = text.split("\n")
    middle = len(lines) // 2
    simple = [node for node in ast.walk(ast.parse(text))
              if isinstance(node, (ast.Assign, ast.Expr, ast.AugAssign)) and node.col_offset > 0
              and node.end_lineno is not None]
    stmt = min(simple, key=lambda node: abs(node.lineno - middle))
    row, indent = (stmt.end_lineno or stmt.lineno) - 1, stmt.col_offset
    end = len(lines[row].encode("utf-16-le")) // 2

    def at(line: int, start: int, stop: int | None = None) -> dict[str, Any]:
        return {"start": {"line": line, "character": start},
                "end": {"line": line, "character": start if stop is None else stop}}

    cycle = [(at(row, end), "\n" + " " * indent)]
    cycle += [(at(row + 1, indent + k), ch) for k, ch in enumerate(TYPED_NAME)]
    cycle += [(at(row + 1, indent + k, indent + k + 1), "")
              for k in reversed(range(len(TYPED_NAME)))]
    cycle.append(({"start": {"line": row, "character": end},
                   "end": {"line": row + 1, "character": indent}}, ""))
    return [cycle[n % len(cycle)] for n in range(edits)]


async def edit_latencies(client: Client, uri: str, text: str, edits: int,
                         start_version: int = 2) -> list[float]:
    """ms from each edit (``TYPING``) to the next publish of its version."""
    queue = client.queue(uri)
    out = []
    plan = typed_edits(text, edits) if TYPING == "middle" else appended_edits(text, edits)
    for n, (where, new_text) in enumerate(plan):
        while not queue.empty():
            queue.get_nowait()
        version = start_version + n
        sent = time.perf_counter()
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": where, "text": new_text}]})
        while True:
            received, params = await asyncio.wait_for(queue.get(), 120)
            if params.get("version") in (None, version):
                break
        out.append((received - sent) * 1000)
    return out


async def measure_server(name: str, cmd: list[str], files: list[tuple[str, Path, int]],
                         workdir: Path, options: Any, edits: int) -> dict[str, Any]:
    client = await Client.spawn(cmd, str(workdir))
    ready = await client.initialize(str(workdir), options)
    results: dict[str, Any] = {"ready_s": ready, "files": {}}
    await asyncio.sleep(0.5)
    for label, path, lines in files:
        text = path.read_text(encoding="utf-8")
        uri = await open_doc(client, path, text)
        lat = await edit_latencies(client, uri, text, edits)
        results["files"][str(lines)] = {"file": label, "lines": lines, "p50_ms": pct(lat, 50),
                                        "p95_ms": pct(lat, 95)}
        print(f"  {name:9s} {lines:5d} lines ({label}): p50 {pct(lat, 50):7.1f} ms  "
              f"p95 {pct(lat, 95):7.1f} ms", flush=True)
    results["rss_mb"] = client.rss_mb()
    await client.close()
    return results


async def measure_actions_hover(cmd: list[str], large: Path, workdir: Path) -> dict[str, Any]:
    """Code action and hover latency on the large file with a buggy loop appended."""
    text = large.read_text(encoding="utf-8") + BUGGY_TAIL
    path = workdir / "large_buggy.py"
    path.write_text(text, encoding="utf-8")
    client = await Client.spawn(cmd, str(workdir))
    await client.initialize(str(workdir), {"debounceMs": 0})
    queue = client.queue(path.as_uri())
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": path.as_uri(), "languageId": "python", "version": 1, "text": text}})
    _, params = await asyncio.wait_for(queue.get(), 120)
    diagnostics = [d for d in params["diagnostics"] if d.get("source") == "torchmode"]
    lines = text.splitlines()
    action_ms: list[float] = []
    action_count = 0
    for _ in range(20):
        for diagnostic in diagnostics[-3:]:
            start = time.perf_counter()
            actions = await client.request("textDocument/codeAction", {
                "textDocument": {"uri": path.as_uri()}, "range": diagnostic["range"],
                "context": {"diagnostics": [diagnostic], "only": ["quickfix"]}})
            action_ms.append((time.perf_counter() - start) * 1000)
            action_count = max(action_count, len(actions or []))
    hover_points = []
    for number, line in enumerate(lines):
        for word in ("bench_model", ".eval", "no_grad", "Dropout", "train"):
            column = line.find(word)
            if column >= 0:
                hover_points.append((number, column + (1 if word.startswith(".") else 0) + 1))
    hover_points = hover_points[-50:] or [(0, 0)]
    hover_ms = []
    for number, column in hover_points * max(1, 100 // len(hover_points)):
        start = time.perf_counter()
        await client.request("textDocument/hover", {
            "textDocument": {"uri": path.as_uri()}, "position": {"line": number,
                                                                 "character": column}})
        hover_ms.append((time.perf_counter() - start) * 1000)
    # Hovers while an analysis of the large file runs (it runs off the event loop).
    busy_ms = []
    version = 1
    number, column = hover_points[-1]
    for n in range(10):
        version += 1
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": path.as_uri(), "version": version},
            "contentChanges": [{"range": {"start": {"line": len(lines) + n, "character": 0},
                                          "end": {"line": len(lines) + n, "character": 0}},
                                "text": f"_busy_{n} = {n}\n"}]})
        await asyncio.sleep(0.05)  # let the analysis start
        start = time.perf_counter()
        await client.request("textDocument/hover", {
            "textDocument": {"uri": path.as_uri()}, "position": {"line": number,
                                                                 "character": column}})
        busy_ms.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.6)
    await client.close()
    return {
        "hover_during_analysis_p50_ms": pct(busy_ms, 50),
        "hover_during_analysis_max_ms": max(busy_ms),
        "diagnostics": len(diagnostics),
        "code_action_p50_ms": pct(action_ms, 50) if action_ms else None,
        "code_action_p95_ms": pct(action_ms, 95) if action_ms else None,
        "max_actions_per_diagnostic": action_count,
        "hover_p50_ms": pct(hover_ms, 50), "hover_p95_ms": pct(hover_ms, 95),
        "hovers": len(hover_ms),
    }


async def start_to_ready(cmd: list[str], workdir: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client = await Client.spawn(cmd, str(workdir))
        await client.initialize(str(workdir), {})
        times.append(time.perf_counter() - start)
        await client.close()
    return statistics.median(times)


async def memory_after_load(cmd: list[str], files: list[tuple[str, Path, int]],
                            workdir: Path) -> tuple[float, float]:
    client = await Client.spawn(cmd, str(workdir))
    await client.initialize(str(workdir), {"debounceMs": 0})
    for _, path, _ in files:
        text = path.read_text(encoding="utf-8")
        uri = await open_doc(client, path, text)
        await edit_latencies(client, uri, text, 50)
    rss = client.rss_mb()
    await client.close()
    return rss


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench_lsp_"))
    try:
        files = pick_files(workdir)
        python = sys.executable
        torchmode = [python, "-m", "torchmode", "server"]
        floor = [python, str(Path(__file__).resolve()), "--floor-server"]
        ruff = shutil.which("ruff") or str(Path(python).parent / "ruff")
        servers = [("floor", floor, None), ("torchmode", torchmode, {"debounceMs": 0})]
        if Path(ruff).exists():
            servers.append(("ruff", [ruff, "server"],
                            {"settings": {"lint": {"select": ["ALL"]},
                                          "configurationPreference": "editorOnly"}}))
        print("files:", ", ".join(f"{label} ({lines} lines)" for label, _, lines in files))
        report: dict[str, Any] = {"edits": args.edits, "rounds": args.rounds, "servers": {}}
        for name, cmd, options in servers:
            report["servers"][name] = await measure_server(name, cmd, files, workdir, options,
                                                           args.edits)
        if args.before:
            report["before_vs_now"] = await before_vs_now(
                args, before_command(args.before), torchmode, files, workdir)
        report["actions_hover"] = await measure_actions_hover(torchmode, files[-1][1], workdir)
        report["start_to_ready_s"] = await start_to_ready(torchmode, workdir)
        report["floor_start_to_ready_s"] = await start_to_ready(floor, workdir)
        report["rss_mb_after_3_files_150_edits"] = await memory_after_load(torchmode, files,
                                                                            workdir)
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def before_vs_now(args: argparse.Namespace, before: list[str], now: list[str],
                        files: list[tuple[str, Path, int]], workdir: Path) -> dict[str, Any]:
    """The older and this torchmode in alternating order, ``--rounds`` times each: on a
    shared machine, load drifts between consecutive runs; medians over interleaved
    rounds compare the two under the same drift."""
    rounds: dict[str, list[dict[str, Any]]] = {"before": [], "now": []}
    order = [("before", before), ("now", now)]
    for number in range(args.rounds):
        for name, cmd in order if number % 2 == 0 else order[::-1]:
            result = await measure_server(name, cmd, files, workdir, {"debounceMs": 0},
                                          args.edits)
            rounds[name].append(result["files"])
    out: dict[str, Any] = {}
    for name, results in rounds.items():
        out[name] = {size: {q: statistics.median(r[size][q] for r in results)
                            for q in ("p50_ms", "p95_ms")} for size in results[0]}
    return out


def before_command(src: str) -> list[str]:
    """``torchmode server`` run from another source tree (its worker follows it: the
    worker is started from the folder its own package was imported from)."""
    folder = str(Path(src).resolve())
    boot = (f"import sys; sys.path.insert(0, {folder!r}); "
            "from torchmode.cli import main; sys.exit(main(['server']))")
    return [sys.executable, "-c", boot]


def summarise(report: dict[str, Any]) -> None:
    floor = report["servers"]["floor"]["files"]
    print("\nratio to floor (targets: p50 <= 2x, p95 <= 3x)")
    for name in ("torchmode", "ruff"):
        for size, row in report["servers"].get(name, {}).get("files", {}).items():
            base = floor[size]
            print(f"  {name:9s} {size:>5} lines: p50 {row['p50_ms'] / base['p50_ms']:.2f}x  "
                  f"p95 {row['p95_ms'] / base['p95_ms']:.2f}x")
    if "before_vs_now" in report:
        compared = report["before_vs_now"]
        print(f"\nnow vs before: medians of {report['rounds']} interleaved rounds "
              "(edit -> diagnostics; a ratio below 1 is faster)")
        for size, row in compared["now"].items():
            old = compared["before"][size]
            print(f"  {size:>5} lines: p50 {old['p50_ms']:.1f} -> {row['p50_ms']:.1f} ms "
                  f"({row['p50_ms'] / old['p50_ms']:.2f}x)  p95 {old['p95_ms']:.1f} -> "
                  f"{row['p95_ms']:.1f} ms ({row['p95_ms'] / old['p95_ms']:.2f}x)")
    ah = report["actions_hover"]
    print(f"code action p50/p95 {ah['code_action_p50_ms']:.1f}/{ah['code_action_p95_ms']:.1f} ms"
          f" (target p95 < 100); hover p50/p95 {ah['hover_p50_ms']:.2f}/{ah['hover_p95_ms']:.2f} ms"
          f" (target < 10); hover while an analysis runs p50 "
          f"{ah['hover_during_analysis_p50_ms']:.1f} ms, max "
          f"{ah['hover_during_analysis_max_ms']:.1f} ms")
    print(f"start to ready {report['start_to_ready_s']:.3f} s (target < 0.6; floor "
          f"{report['floor_start_to_ready_s']:.3f} s)")
    own, total = report["rss_mb_after_3_files_150_edits"]
    print(f"RSS after 3 files + 150 edits: server {own:.1f} MB, with its worker processes "
          f"{total:.1f} MB (target < 100)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--before", metavar="SRC",
                        help="also measure the torchmode package in this folder")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of --before and this torchmode (default 3)")
    parser.add_argument("--hop", action="store_true",
                        help="only measure the hop to the worker (and what an in-process "
                             "analysis would save)")
    parser.add_argument("--typing", choices=("end", "middle"), default="end",
                        help="edits appended at the end of the file (default), or keystrokes "
                             "typed into a line in the middle of a function")
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global TYPING
    TYPING = args.typing
    if args.floor_server:
        floor_server()
        return
    if args.hop:
        measure_hop(args.edits)
        return
    report = asyncio.run(run(args))
    summarise(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
