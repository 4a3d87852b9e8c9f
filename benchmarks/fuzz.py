"""Fuzzing the CLI and the language server with generated and mutated input.

1. ``--files`` generated and mutated Python files and notebooks (deep nesting, null
   bytes, BOMs, CR/CRLF, tabs, astral characters, truncations, junk) go through
   ``torchmode check``, ``check --fix --unsafe-fixes --diff`` and ``check --fix
   --unsafe-fixes`` (on a copy). Every run must end with status 0, 1 or 2, no
   signal, no traceback, within its timeout; every file ``--fix`` changed must parse.
2. ``--sequences`` random edit sequences (whole-text and ranged edits, some out of
   range, hovers, code actions, inlay hints) go through one server over stdio: no
   crash, no traceback, every request answered.
3. A load test: ``--edits`` ``didChange`` notifications on one document; the RSS of
   the server and of its analysis worker before and after.

    .venv/bin/python benchmarks/fuzz.py            # 2,000 files, 500 sequences, 10,000 edits

``tests/test_fuzz.py`` runs a small slice of it in the test suite.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lsp"))
from rawclient import CONSOLE_SCRIPT, RawServer, frame  # noqa: E402

SEEDS = [
    """import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in train_loader:
    optimizer.zero_grad()
    loss = (model(x) - y).pow(2).mean()
    loss.backward()
    optimizer.step()
for x, y in val_loader:
    out = model(x)
""",
    """import torch


def evaluate(model, loader):
    model.eval
    total = 0
    for x, y in loader:
        total += float((model(x) - y).abs().sum())
    return total


def train(model, loader, opt):
    model.training = True
    for x, y in loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
""",
    """import torch

class Runner:
    def __init__(self, model):
        self.model = model

    @torch.no_grad()
    def validate(self, batches):
        return [self.model(b) for b in batches]

    def export(self, example):
        return torch.jit.trace(self.model, example)

    def step(self, batch):
        with torch.no_grad():
            loss = self.model(batch).sum()
            loss.backward()
""",
]


def mutate(text: str, rng: random.Random) -> str:
    """One to four random mutations of ``text``."""
    for _ in range(rng.randint(1, 4)):
        lines = text.splitlines(keepends=True) or [""]
        i = rng.randrange(len(lines))
        kind = rng.randrange(14)
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif kind == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 3:
            pos = rng.randrange(len(lines[i]) + 1)
            junk = rng.choice(["(", ")", ":", "\t", "\\", '"""', "'", "#", "\x00", "😀", "中"])
            lines[i] = lines[i][:pos] + junk + lines[i][pos:]
        elif kind == 4:
            lines[i] = "    " + lines[i] if rng.random() < 0.5 else lines[i].lstrip()
        elif kind == 5:
            text = "".join(lines)
            return text[: rng.randrange(len(text) + 1)]
        elif kind == 6:
            depth = rng.choice([50, 900, 1500, 8000])
            lines.insert(i, "y = model(x" + " + 1" * depth + ")\n")
        elif kind == 7:
            lines.insert(i, "(" * 150 + "x" + ")" * 150 + "\n")
        elif kind == 8:
            text = "".join(lines)
            return "\ufeff" + text
        elif kind == 9:
            return "".join(lines).replace("\n", rng.choice(["\r\n", "\r"]))
        elif kind == 10:
            lines[i] = lines[i].replace("    ", "\t")
        elif kind == 11:
            lines.insert(i, "x = '" + "a" * rng.choice([100, 20_000]) + "'\n")
        elif kind == 12:
            lines.insert(i, "model.eval()\n" if rng.random() < 0.5 else "with torch.no_grad():\n")
        else:
            lines[i] = "".join(rng.sample(lines[i], len(lines[i])))
        text = "".join(lines)
    return text


def notebook(cells: list[str], rng: random.Random) -> str:
    """An .ipynb document; sometimes malformed."""
    doc: dict[str, Any] = {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [{"cell_type": rng.choice(["code", "code", "markdown"]), "metadata": {},
                   "source": cell, "outputs": [], "execution_count": None} for cell in cells],
    }
    text = json.dumps(doc)
    if rng.random() < 0.1:
        text = text[: rng.randrange(len(text))]
    return text


def generate(folder: Path, count: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for n in range(count):
        base = rng.choice(SEEDS)
        if rng.random() < 0.15:
            cells = [mutate(base, rng) if rng.random() < 0.7 else base
                     for _ in range(rng.randint(1, 4))]
            path = folder / f"nb{n:05d}.ipynb"
            path.write_text(notebook(cells, rng), encoding="utf-8")
        else:
            path = folder / f"f{n:05d}.py"
            text = mutate(base, rng)
            encoding = "utf-8" if rng.random() < 0.95 else "latin-1"
            path.write_bytes(text.encode(encoding, errors="replace"))
        paths.append(path)
    return paths


@dataclass
class Figures:
    files: int = 0
    runs: int = 0
    fixed_files: int = 0
    sequences: int = 0
    edits: int = 0
    requests: int = 0
    problems: list[str] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)


def run_cli(args: list[str], cwd: Path, timeout: float, figures: Figures) -> None:
    figures.runs += 1
    try:
        done = subprocess.run([CONSOLE_SCRIPT, *args], cwd=cwd, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        figures.problems.append(f"check {args}: hang (over {timeout:g} s)")
        return
    if done.returncode not in (0, 1, 2):
        figures.problems.append(f"check {args}: exit status {done.returncode}")
    if "Traceback" in done.stderr or "Traceback" in done.stdout:
        figures.problems.append(f"check {args}: traceback\n{done.stderr[-2000:]}")


def parses(data: bytes) -> bool:
    try:
        ast.parse(data)
    except (SyntaxError, ValueError):
        return False
    return True


def fuzz_cli(count: int, seed: int, figures: Figures, batch: int = 250) -> None:
    with tempfile.TemporaryDirectory(prefix="torchmode-fuzz-") as tmp:
        root = Path(tmp)
        files = generate(root, count, seed)
        figures.files += len(files)
        chunks = [files[i:i + batch] for i in range(0, len(files), batch)]
        for chunk in chunks:
            names = [p.name for p in chunk]
            run_cli(["check", "--exit-zero", *names], root, 600, figures)
            run_cli(["check", "--fix", "--unsafe-fixes", "--diff", *names], root, 600, figures)
        copy = root / "copy"
        copy.mkdir()
        for path in files:
            shutil.copy2(path, copy / path.name)
        before = {p.name: p.read_bytes() for p in copy.iterdir()}
        for chunk in chunks:
            run_cli(["check", "--fix", "--unsafe-fixes", "--jobs", "2",
                     *[p.name for p in chunk]], copy, 600, figures)
        for name, old in before.items():
            new = (copy / name).read_bytes()
            if new == old or not name.endswith(".py"):
                continue
            figures.fixed_files += 1
            if not parses(new):
                figures.problems.append(f"--fix left {name} unparsable")


class Session:
    """One server over stdio, with the diagnostics it published."""

    def __init__(self, root: Path) -> None:
        self.raw = RawServer(root)
        self.raw.initialize()
        self.root = root

    def latest_diagnostics(self, uri: str) -> list[dict[str, Any]]:
        for message in reversed(self.raw.reader.seen):
            if (message.get("method") == "textDocument/publishDiagnostics"
                    and message["params"]["uri"] == uri):
                return list(message["params"]["diagnostics"])
        return []


def random_position(text: str, rng: random.Random) -> dict[str, int]:
    lines = text.split("\n")
    line = rng.randrange(len(lines) + 2)  # sometimes past the end
    width = len(lines[line]) if line < len(lines) else 0
    return {"line": line, "character": rng.randrange(width + 3)}


def edit_sequence(session: Session, n: int, rng: random.Random, figures: Figures) -> None:
    raw = session.raw
    uri = (session.root / f"doc{n}.py").as_uri()
    text = mutate(rng.choice(SEEDS), rng)
    raw.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}})
    version = 1
    for _ in range(rng.randint(3, 25)):
        version += 1
        figures.edits += 1
        if rng.random() < 0.5:
            text = mutate(text, rng)
            change: dict[str, Any] = {"text": text}
        else:
            start = random_position(text, rng)
            change = {"range": {"start": start, "end": start}, "text": rng.choice(
                ["(", "\n", "    ", "model(x)\n", "😀", "\r\n", "with torch.no_grad():\n"])}
        raw.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
        if rng.random() < 0.3:
            request(session, uri, text, rng, figures)
    time.sleep(0.3)
    request(session, uri, text, rng, figures, kind="codeAction")
    raw.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def request(session: Session, uri: str, text: str, rng: random.Random, figures: Figures,
            kind: str | None = None) -> None:
    raw = session.raw
    kind = kind or rng.choice(["hover", "codeAction", "inlayHint"])
    figures.requests += 1
    position = random_position(text, rng)
    document = {"uri": uri}
    if kind == "hover":
        params: dict[str, Any] = {"textDocument": document, "position": position}
    elif kind == "inlayHint":
        params = {"textDocument": document,
                  "range": {"start": {"line": 0, "character": 0}, "end": position}}
    else:
        diagnostics = session.latest_diagnostics(uri)
        rng_ = diagnostics[0]["range"] if diagnostics else {"start": position, "end": position}
        params = {"textDocument": document, "range": rng_,
                  "context": {"diagnostics": diagnostics[:3]}}
    try:
        answer = raw.request(f"textDocument/{kind}", params)
    except AssertionError as exc:
        figures.problems.append(f"{kind}: {exc}")
        return
    if "error" in answer and answer["error"].get("code") == -32603:
        figures.problems.append(f"{kind}: internal error {answer['error'].get('message')}")


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def worker_of(server_pid: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid and b"lsp.engine" in cmd:
            return int(entry.name)
    return None


def fuzz_server(sequences: int, edits: int, seed: int, figures: Figures) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="torchmode-fuzz-lsp-") as tmp:
        session = Session(Path(tmp))
        try:
            for n in range(sequences):
                edit_sequence(session, n, rng, figures)
                figures.sequences += 1
                if session.raw.proc.poll() is not None:
                    figures.problems.append(f"the server exited ({session.raw.proc.returncode})")
                    return
            if edits:
                load_test(session, edits, figures)
            if session.raw.request("shutdown").get("error"):
                figures.problems.append("shutdown refused")
            session.raw.notify("exit")
            try:
                status = session.raw.wait(30)
            except subprocess.TimeoutExpired:
                figures.problems.append("the server did not exit after exit")
                status = None
            if status not in (0, None):
                figures.problems.append(f"the server exited with {status}")
        finally:
            errors = session.raw.stderr()
            session.raw.close()
            if "Traceback" in errors:
                figures.problems.append(f"server traceback:\n{errors[-3000:]}")


def load_test(session: Session, edits: int, figures: Figures) -> None:
    """``edits`` notifications on one open document; RSS before and after."""
    raw = session.raw
    uri = (session.root / "load.py").as_uri()
    raw.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": SEEDS[0]}})
    raw.hover(uri)
    time.sleep(1.0)
    server, worker = raw.proc.pid, worker_of(raw.proc.pid)
    figures.memory["server_before_mb"] = rss_mb(server)
    figures.memory["worker_before_mb"] = rss_mb(worker)
    version = 1
    for start in range(0, edits, 1000):
        batch = []
        for _ in range(min(1000, edits - start)):
            version += 1
            text = SEEDS[0] + f"# edit {version}\n"
            batch.append(frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"text": text}]}}))
        raw.send(b"".join(batch))
        raw.hover(uri)
    time.sleep(1.0)
    raw.hover(uri)
    figures.memory["server_after_mb"] = rss_mb(server)
    figures.memory["worker_after_mb"] = rss_mb(worker_of(server))
    figures.memory["edits"] = float(edits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--sequences", type=int, default=500)
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    figures = Figures()
    start = time.perf_counter()
    if args.files:
        fuzz_cli(args.files, args.seed, figures)
    cli_s = time.perf_counter() - start
    if args.sequences or args.edits:
        fuzz_server(args.sequences, args.edits, args.seed, figures)
    print(f"files: {figures.files} through {figures.runs} check runs "
          f"({figures.fixed_files} changed by --fix, all parse) in {cli_s:.0f} s")
    print(f"server: {figures.sequences} edit sequences, {figures.edits} edits, "
          f"{figures.requests} requests in {time.perf_counter() - start - cli_s:.0f} s")
    if figures.memory:
        m = figures.memory
        print(f"load test: {m['edits']:.0f} didChange; server RSS {m['server_before_mb']:.1f} -> "
              f"{m['server_after_mb']:.1f} MB, worker RSS {m['worker_before_mb']:.1f} -> "
              f"{m['worker_after_mb']:.1f} MB")
    for problem in figures.problems:
        print("PROBLEM:", problem)
    print(f"{len(figures.problems)} problems")
    return 1 if figures.problems else 0


if __name__ == "__main__":
    sys.exit(main())
