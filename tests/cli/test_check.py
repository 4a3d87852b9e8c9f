"""``torchmode check`` end to end against the real engine: formats, exit statuses,
selection, noqa, configuration, notebooks, bad input."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import (
    BARE_EVAL,
    BARE_LINE,
    CLEAN,
    MISSING_EVAL,
    VAL_COL,
    VAL_LINE,
    Run,
    notebook,
    run_subprocess,
    write,
)

RunCli = Callable[..., Run]


def _codes(run: Run) -> list[tuple[str, str, int]]:
    """(path, code, 1-based line) of each finding, from json output."""
    return [(f["path"], f["code"], f["range"]["start"]["line"] + 1) for f in run.json()]


# --- formats and exit statuses ---------------------------------------------------------


def test_text_output_and_exit_1(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "train.py", MISSING_EVAL)
    run = run_cli("check", "train.py")
    assert run.status == 1
    first = run.out.splitlines()[0]
    assert first.startswith(f"train.py:{VAL_LINE}:{VAL_COL}: TM001 [missing-eval] ")
    assert "model" in first
    assert run.out.rstrip().splitlines()[-1].startswith("Found 1 finding in 1 file (1 file checked")
    assert run.err == ""


def test_clean_file_exit_0(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "ok.py", CLEAN)
    run = run_cli("check", "ok.py")
    assert run.status == 0, run.out
    assert run.out.strip() == "No findings (1 file checked)."


def test_text_groups_files_with_blank_line(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "a.py", MISSING_EVAL)
    write(tmp_path / "b.py", BARE_EVAL)
    run = run_cli("check", ".")
    blocks = run.out.strip().split("\n\n")
    assert blocks[0].splitlines()[0].startswith("a.py:")
    assert all(line.startswith("b.py:") for line in blocks[1].splitlines())
    assert blocks[-1].startswith("Found ")


def test_json_output(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "train.py", MISSING_EVAL)
    run = run_cli("check", "--format", "json", "train.py")
    assert run.status == 1
    (item,) = [f for f in run.json() if f["code"] == "TM001"]
    assert set(item) >= {"path", "code", "name", "message", "severity", "range", "related", "fixes"}
    assert item["path"] == "train.py"
    assert item["name"] == "missing-eval"
    assert item["severity"] in ("warning", "hint")
    assert item["range"]["start"] == {"line": VAL_LINE - 1, "character": VAL_COL - 1}
    assert item["range"]["end"]["line"] == VAL_LINE - 1
    assert all({"title", "kind", "safe"} <= set(fix) for fix in item["fixes"])


def test_exit_zero(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "train.py", MISSING_EVAL)
    run = run_cli("check", "--exit-zero", "train.py")
    assert run.status == 0
    assert "TM001" in run.out


def test_github_output(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "d" / "b.py", BARE_EVAL)
    run = run_cli("check", "--format", "github", "d")
    assert run.status == 1
    lines = [line for line in run.out.splitlines() if "TM004" in line]
    assert len(lines) == 1
    match = re.fullmatch(
        r"::error file=d/b\.py,line=(\d+),col=(\d+),endLine=(\d+),endColumn=(\d+),"
        r"title=TM004 mode-not-called::(.+)", lines[0])
    assert match, lines[0]
    assert int(match.group(1)) == BARE_LINE


def test_statistics(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "a.py", MISSING_EVAL)
    write(tmp_path / "b.py", BARE_EVAL)
    run = run_cli("check", "--statistics", ".")
    stats = re.findall(r"^\s+(\d+)\s+(TM\d{3})\s+(\S+)$", run.out, re.MULTILINE)
    assert ("1", "TM004", "mode-not-called") in stats
    assert any(code == "TM001" for _, code, _ in stats)
    json_run = run_cli("check", "--statistics", "--format", "json", ".")
    assert isinstance(json_run.json(), list)  # statistics went to stderr
    assert "TM004" in json_run.err


# --- selection, noqa, configuration -------------------------------------------------------


def test_select_and_ignore(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "a.py", MISSING_EVAL)
    write(tmp_path / "b.py", BARE_EVAL)
    everything = {code for _, code, _ in _codes(run_cli("check", "--format", "json", "."))}
    assert {"TM001", "TM004"} <= everything
    only = run_cli("check", "--format", "json", "--select", "TM004", ".")
    assert {code for _, code, _ in _codes(only)} == {"TM004"}
    without = run_cli("check", "--format", "json", "--ignore", "TM001,TM004", ".")
    assert not {"TM001", "TM004"} & {code for _, code, _ in _codes(without)}
    prefix = run_cli("check", "--format", "json", "--select", "TM00", "--ignore", "TM001", ".")
    assert "TM001" not in {code for _, code, _ in _codes(prefix)}


def test_unknown_code_is_usage_error(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "a.py", CLEAN)
    run = run_cli("check", "--select", "TM999", "a.py")
    assert run.status == 2
    assert "unknown rule code 'TM999'" in run.err


def test_bad_flag_is_usage_error(run_cli: RunCli) -> None:
    assert run_cli("check", "--format", "xml").status == 2
    assert run_cli("frobnicate").status == 2
    assert run_cli().status == 2


def test_noqa(tmp_path: Path, run_cli: RunCli) -> None:
    lines = MISSING_EVAL.splitlines(keepends=True)
    target = lines[VAL_LINE - 1].rstrip("\n")
    lines[VAL_LINE - 1] = target + "  # noqa: TM001\n"
    write(tmp_path / "silenced.py", "".join(lines))
    lines[VAL_LINE - 1] = target + "  # noqa: E501, TM002\n"
    write(tmp_path / "other_code.py", "".join(lines))
    lines[VAL_LINE - 1] = target + "  # noqa\n"
    write(tmp_path / "bare.py", "".join(lines))
    found = _codes(run_cli("check", "--format", "json", "."))
    assert ("other_code.py", "TM001", VAL_LINE) in found
    assert not [f for f in found if f[0] in ("silenced.py", "bare.py") and f[2] == VAL_LINE]


def test_pyproject_ignore_and_severity(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "pyproject.toml",
          '[tool.torchmode]\nignore = ["TM004"]\nseverity = { TM001 = "error" }\n')
    write(tmp_path / "src" / "a.py", MISSING_EVAL)
    write(tmp_path / "src" / "b.py", BARE_EVAL)
    items = run_cli("check", "--format", "json", "src").json()
    assert "TM004" not in {f["code"] for f in items}
    assert [f["severity"] for f in items if f["code"] == "TM001"] == ["error"]
    # --select naming the ignored code brings it back
    items = run_cli("check", "--format", "json", "--select", "TM004", "src").json()
    assert {f["code"] for f in items} == {"TM004"}


def test_pyproject_exclude(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nexclude = ["generated/**", "old_*.py"]\n')
    write(tmp_path / "generated" / "x" / "a.py", MISSING_EVAL)
    write(tmp_path / "pkg" / "old_train.py", MISSING_EVAL)
    write(tmp_path / "pkg" / "train.py", MISSING_EVAL)
    run = run_cli("check", "--format", "json", ".")
    assert {f["path"] for f in run.json()} == {"pkg/train.py"}


def test_pyproject_error_names_file(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselct = ["TM001"]\n')
    write(tmp_path / "a.py", MISSING_EVAL)
    run = run_cli("check", "a.py")
    assert run.status == 2
    assert "pyproject.toml" in run.err and "unknown key 'selct'" in run.err
    assert run.out == ""


def test_default_skipped_folders(tmp_path: Path, run_cli: RunCli) -> None:
    for folder in (".venv", "node_modules", ".git", "__pycache__", "build", "dist"):
        write(tmp_path / folder / "a.py", MISSING_EVAL)
    write(tmp_path / "src" / "notes.txt", MISSING_EVAL)
    write(tmp_path / "src" / "ok.py", CLEAN)
    run = run_cli("check", ".")
    assert run.status == 0
    assert "(1 file checked)" in run.out
    # an explicitly named file in a skipped folder is still checked
    assert run_cli("check", "build/a.py").status == 1


# --- notebooks -------------------------------------------------------------------------


def test_notebook_cell_numbers(tmp_path: Path, run_cli: RunCli) -> None:
    head, tail = MISSING_EVAL.split("def train_and_validate", 1)
    body = "def train_and_validate" + tail
    cells = [
        ("markdown", "# Training\n"),
        ("code", "%matplotlib inline\n" + head),
        ("markdown", "Now train"),
        ("code", body),
    ]
    write(tmp_path / "nb.ipynb", notebook(cells))
    # the TM001 call is on line VAL_LINE of MISSING_EVAL, i.e. this line of the 4th cell:
    cell_line = VAL_LINE - head.count("\n")
    run = run_cli("check", "nb.ipynb")
    assert run.status == 1
    assert run.out.startswith(f"nb.ipynb:cell 4:{cell_line}:{VAL_COL}: TM001 [missing-eval]")
    (item,) = [f for f in run_cli("check", "--format", "json", "nb.ipynb").json()
               if f["code"] == "TM001"]
    assert item["cell"] == 4
    assert item["range"]["start"] == {"line": cell_line - 1, "character": VAL_COL - 1}
    # line numbers inside messages are made cell-relative too (`model = Net()`: cell 4, line 2)
    assert "constructed at cell 4, line 2" in item["message"], item["message"]


def test_notebook_errors(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "broken.ipynb", "{not json")
    run = run_cli("check", ".")
    assert run.status == 2
    assert "broken.ipynb: error: not a valid notebook" in run.err


def test_notebook_broken_cell_is_reported_and_left_out(tmp_path: Path, run_cli: RunCli) -> None:
    """RULES.md §2a: an unfinished exercise cell is one warning line at its own cell and
    line; the other cells are analysed as if it were empty (decision: a warning, not an
    error, so it does not make the exit status 2)."""
    head, tail = MISSING_EVAL.split("def train_and_validate", 1)
    cells = [("markdown", "x"), ("code", head), ("code", "x = 1\nmodel = (:\n"),
             ("code", "def train_and_validate" + tail)]
    write(tmp_path / "exercise.ipynb", notebook(cells))
    run = run_cli("check", "exercise.ipynb")
    assert run.err.strip() == ("exercise.ipynb: warning: cell 3, line 2, column 10: not analysed "
                               "(syntax error: invalid syntax)")
    assert run.status == 1
    assert "exercise.ipynb:cell 4:" in run.out and "TM001 [missing-eval]" in run.out


def test_notebook_modulo_continuation_and_magic_only_block(tmp_path: Path,
                                                           run_cli: RunCli) -> None:
    """A continuation line starting with ``%`` is the modulo operator, and an ``elif``
    whose body is only magics still parses: the notebook is analysed (RULES.md §2a)."""
    source = ('print("%d of %d"\n      % (1, 2))\nif False:\n    pass\nelif True:\n'
              '    %time print(1)\n')
    write(tmp_path / "nb.ipynb", notebook([("code", source), ("code", MISSING_EVAL)]))
    run = run_cli("check", "nb.ipynb")
    assert run.err == ""
    assert run.status == 1 and "nb.ipynb:cell 2:" in run.out


# --- bad input ------------------------------------------------------------------------


def test_syntax_error_and_good_file(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "bad.py", "import torch\n\ndef f(:\n    pass\n")
    write(tmp_path / "good.py", MISSING_EVAL)
    run = run_cli("check", ".")
    assert run.status == 2
    assert re.search(r"^bad\.py: error: syntax error at line 3, column \d+: ", run.err, re.M)
    assert len(run.err.strip().splitlines()) == 1
    assert f"good.py:{VAL_LINE}:{VAL_COL}: TM001" in run.out
    assert "1 could not be analysed" in run.out
    assert "Traceback" not in run.err


def test_not_utf8(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "latin.py").write_bytes(b"x = 1\n# caf\xe9\nmodel = 2\n")
    (tmp_path / "declared.py").write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\nx = 1\n")
    run = run_cli("check", ".")
    assert run.status == 2
    expected = "latin.py: error: not valid UTF-8: byte 0xe9 at line 2 cannot be decoded"
    assert run.err.strip() == expected
    assert "(2 files checked; 1 could not be analysed)" in run.out  # the latin-1 file is fine


def test_empty_and_missing(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "empty.py", "")
    assert run_cli("check", "empty.py").status == 0
    run = run_cli("check", "empty.py", "nope.py")
    assert run.status == 2
    assert "nope.py: error: no such file or directory" in run.err


def test_cjk_and_emoji_columns(tmp_path: Path, run_cli: RunCli) -> None:
    lines = MISSING_EVAL.splitlines(keepends=True)
    prefix = '            results["注意😀"] = '
    lines[VAL_LINE - 1] = prefix + "model(x)  # 训练 🚀\n"
    lines.insert(VAL_LINE - 2, "        results = {}\n")  # before the for loop header
    text = "".join(lines).replace("    return out\n", "    return results\n")
    write(tmp_path / "cjk.py", text)
    line = VAL_LINE + 1
    (item,) = [f for f in run_cli("check", "--format", "json", "cjk.py").json()
               if f["code"] == "TM001"]
    utf16 = len(prefix.encode("utf-16-le")) // 2
    assert item["range"]["start"] == {"line": line - 1, "character": utf16}
    assert utf16 == len(prefix) + 1  # the emoji is two UTF-16 units
    run = run_cli("check", "cjk.py")
    assert f"cjk.py:{line}:{len(prefix) + 1}: TM001" in run.out  # text columns count characters


def test_huge_file(tmp_path: Path) -> None:
    """50,000 lines: a clear result, in a child process so a hang would fail by timeout."""
    body = ["import torch\n"]
    for i in range(2500):
        name = f"evaluate_{i}" if i % 10 == 0 else f"f{i}"  # some evaluation functions
        body.append(f"def {name}(model, loader):\n")
        body.append("    total = 0\n" * 16)
        body.append("    for x in loader:\n        total += model(x)\n")
        body.append("    return total\n")
    text = "".join(body)
    assert text.count("\n") >= 50_000
    write(tmp_path / "big.py", text)
    proc = run_subprocess(["check", "--exit-zero", "big.py"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "(1 file checked)" in proc.stdout


@pytest.mark.parametrize(("kind", "depth"), [("blocks", 200), ("blocks", 99),
                                             ("brackets", 200), ("calls", 190)])
def test_deep_nesting(tmp_path: Path, kind: str, depth: int) -> None:
    """200-deep nesting: Python itself refuses 100+ indentation levels and 200 brackets
    (a clear syntax error); what it accepts must analyse without a traceback."""
    if kind == "blocks":
        head = "import torch\nmodel = torch.nn.Dropout()\nfor x in val_loader:\n"
        ifs = "".join("    " * (d + 1) + f"if x{d}:\n" for d in range(depth - 1))
        text = head + ifs + "    " * depth + "model(x)\n"
    elif kind == "brackets":
        text = "x = " + "[" * depth + "]" * depth + "\n"
    else:
        text = "import torch\nmodel = torch.nn.Dropout()\nmodel.eval()\ny = " + \
            "model(" * depth + "x" + ")" * depth + "\n"
    write(tmp_path / "deep.py", text)
    proc = run_subprocess(["check", "deep.py"], tmp_path, timeout=120)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1, 2)
    if proc.returncode == 2:  # a clear one-line reason
        assert re.fullmatch(r"deep\.py: error: [^\n]+\n", proc.stderr), proc.stderr
    else:
        assert "(1 file checked)" in proc.stdout


def test_jobs_2_equals_jobs_1(tmp_path: Path, run_cli: RunCli) -> None:
    for i in range(6):
        write(tmp_path / f"m{i}" / "train.py", MISSING_EVAL)
        write(tmp_path / f"m{i}" / "bare.py", BARE_EVAL)
        write(tmp_path / f"m{i}" / "ok.py", CLEAN)
    write(tmp_path / "m2" / "bad.py", "def (:\n")
    one = run_cli("check", "--format", "json", "--jobs", "1", ".")
    two = run_cli("check", "--format", "json", "--jobs", "2", ".")
    assert one.out == two.out
    assert one.err == two.err
    assert one.status == two.status == 2
    text_one = run_cli("check", "-j", "1", ".")
    text_two = run_cli("check", "-j", "2", ".")
    assert text_one.out == text_two.out


# --- other commands and the process -----------------------------------------------------


def test_version(run_cli: RunCli) -> None:
    from torchmode import __version__

    run = run_cli("--version")
    assert run.status == 0
    assert run.out.strip() == f"torchmode {__version__}"


def test_server_delegates(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from torchmode.cli import main

    seen: list[list[str]] = []
    fake = types.ModuleType("torchmode.lsp.server")
    fake.main = lambda argv: seen.append(list(argv)) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchmode.lsp.server", fake)
    assert main(["server", "--tcp", "127.0.0.1:2087"]) == 0
    assert seen == [["--tcp", "127.0.0.1:2087"]]


def test_subprocess_module_and_colors(tmp_path: Path) -> None:
    write(tmp_path / "train.py", MISSING_EVAL)
    proc = run_subprocess(["check", "train.py"], tmp_path)
    assert proc.returncode == 1
    assert "\x1b[" not in proc.stdout  # piped: no colors, no progress
    assert proc.stderr == ""
    assert proc.stdout.startswith(f"train.py:{VAL_LINE}:{VAL_COL}: TM001")


@pytest.mark.parametrize(("text", "expected"), [
    ("import torch\n\nx = torch.zeros(1)\n", "HEAVY [] 0"),
    # A fixable finding: "1 fixable" is said only after the fix was verified (libcst).
    (MISSING_EVAL, "HEAVY ['libcst'] 1"),
])
def test_check_imports_no_heavy_modules(tmp_path: Path, text: str, expected: str) -> None:
    """`torchmode check` must not import pygls, lsprotocol, jedi or torch (start-up
    time), nor libcst unless a finding has a fix to verify."""
    write(tmp_path / "train.py", text)
    code = (
        "import sys\nfrom torchmode.cli import main\nstatus = main(['check', 'train.py'])\n"
        "heavy = [m for m in ('libcst', 'pygls', 'lsprotocol', 'jedi', 'torch') "
        "if m in sys.modules]\nprint('HEAVY', heavy, status)\n"
    )
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert expected in proc.stdout, proc.stdout + proc.stderr


def test_progress_and_colors_on_a_terminal(tmp_path: Path, run_cli: RunCli,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import torchmode.cli as cli

    for i in range(cli.PROGRESS_MIN_FILES):
        write(tmp_path / f"f{i:02d}.py", CLEAN)
    write(tmp_path / "zz.py", BARE_EVAL)
    monkeypatch.setattr(cli, "_isatty", lambda stream: True)
    run = run_cli("check", ".")  # NO_COLOR=1 is set by the fixture: progress, no colors
    assert f"\rtorchmode: checked {cli.PROGRESS_MIN_FILES + 1}/" in run.err
    assert run.err.endswith("\r\x1b[K")
    assert "\x1b[1" not in run.out and "\r" not in run.out
    monkeypatch.delenv("NO_COLOR")
    colored = run_cli("check", "zz.py")
    assert "\x1b[1;31mTM004\x1b[0m" in colored.out
    assert "checked" not in colored.err  # one file: no progress


def test_file_problems_on_stderr_with_colored_labels_on_a_terminal(
        tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors red, warnings yellow, notes plain, in the order of the reports (missing
    paths first); stdout keeps the summary."""
    import torchmode.cli as cli

    write(tmp_path / "broken.py", "import torch\ndef f(:\n")
    write(tmp_path / "cells.ipynb", notebook([("code", "import torch\n"), ("code", "def g(:\n")]))
    monkeypatch.setattr(cli, "_isatty", lambda stream: True)
    monkeypatch.delenv("NO_COLOR")
    run = run_cli("check", "--no-cache", "broken.py", "cells.ipynb", "nope.py")
    assert run.status == 2
    assert run.err.splitlines() == [
        "nope.py: \x1b[1;31merror\x1b[0m: no such file or directory",
        "broken.py: \x1b[1;31merror\x1b[0m: syntax error at line 2, column 7: invalid syntax",
        "cells.ipynb: \x1b[1;33mwarning\x1b[0m: cell 2, line 1, column 7: not analysed "
        "(syntax error: invalid syntax)",
    ]
    monkeypatch.setenv("NO_COLOR", "1")
    plain = run_cli("check", "--no-cache", "broken.py", "cells.ipynb")
    assert plain.err.splitlines() == [
        "broken.py: error: syntax error at line 2, column 7: invalid syntax",
        "cells.ipynb: warning: cell 2, line 1, column 7: not analysed "
        "(syntax error: invalid syntax)",
    ]


def test_server_subprocess_answers_initialize(tmp_path: Path) -> None:
    """`python -m torchmode server` reaches the real language server over stdio."""
    import json
    import subprocess

    def frame(message: dict[str, object]) -> bytes:
        body = json.dumps(message).encode()
        return f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    ]
    proc = subprocess.run([sys.executable, "-m", "torchmode", "server"], cwd=tmp_path,
                          input=b"".join(frame(m) for m in messages), capture_output=True,
                          timeout=120)
    bodies = [json.loads(part.split(b"\r\n\r\n", 1)[1])
              for part in proc.stdout.split(b"Content-Length: ")[1:]]
    by_id = {body.get("id"): body for body in bodies if "id" in body}
    assert "capabilities" in by_id[1]["result"], proc.stderr.decode()
    assert by_id[2]["result"] is None


UTILS = '''\
import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x in loader]
'''

FIT = '''\
import torch

from utils import evaluate


def fit(model, train_loader, val_loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(10):
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
        evaluate(model, val_loader)
'''


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cross_file_summary(tmp_path: Path, run_cli: RunCli, jobs: str) -> None:
    """utils.evaluate() leaves the model in eval mode: TM003 in train.py, only when
    utils.py is part of the run (the index covers the run's files, nothing else)."""
    write(tmp_path / "utils.py", UTILS)
    write(tmp_path / "train.py", FIT)
    for i in range(4):  # enough files for the process pool to be used with --jobs 2
        write(tmp_path / f"other{i}.py", CLEAN)
    run = run_cli("check", "--format", "json", "--jobs", jobs, ".")
    found = [(f["path"], f["code"], f["range"]["start"]["line"] + 1) for f in run.json()]
    assert ("train.py", "TM003", 14) in found
    (item,) = [f for f in run.json() if f["code"] == "TM003"]
    assert item["related"][0]["range"]["start"]["line"] == 11  # the training step
    alone = run_cli("check", "--format", "json", "train.py")
    assert "TM003" not in {f["code"] for f in alone.json()}


def test_fifo_and_broken_link_do_not_block(tmp_path: Path, run_cli: RunCli) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "gone.py").symlink_to(tmp_path / "missing.py")
    write(tmp_path / "ok.py", CLEAN)
    run = run_cli("check", ".")
    assert run.status == 0 and "(1 file checked)" in run.out
    explicit = run_cli("check", "pipe.py")
    assert explicit.status == 2
    assert "pipe.py: error: not a regular file or folder" in explicit.err


def test_non_ascii_identifiers(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "ident.py", (
        "import torch\nimport torch.nn as nn\n\n"
        "模型 = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))\n"
        "with torch.no_grad():\n    for x in val_loader:\n"
        "        结果 = 模型(x)  # 😀\n"
    ))
    (item,) = run_cli("check", "--format", "json", "ident.py").json()
    assert item["code"] == "TM001" and "模型" in item["message"]
    assert item["range"]["start"] == {"line": 6, "character": 13}
    assert run_cli("check", "ident.py").out.startswith("ident.py:7:14: TM001")


# --- hint-severity findings (RULES.md §3) ----------------------------------------------

NO_MODE_LAYERS = '''\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
val_loader = [torch.randn(1, 2)]
with torch.no_grad():
    for x in val_loader:
        y = model(x)
'''


def test_hints_are_printed_only_when_asked(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "probe.py", NO_MODE_LAYERS)
    quiet = run_cli("check", "probe.py")
    assert quiet.status == 0 and quiet.out.strip() == "No findings (1 file checked)."
    shown = run_cli("check", "--show-hints", "probe.py")
    assert "probe.py:8:13: TM001 [missing-eval]" in shown.out
    assert "eval() changes nothing today" in shown.out
    assert shown.status == 0  # a hint never counts for the exit status


def test_show_hints_from_pyproject(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "pyproject.toml", "[tool.torchmode]\nshow-hints = true\n")
    write(tmp_path / "probe.py", NO_MODE_LAYERS)
    run = run_cli("check", "--format", "json", "probe.py")
    assert [(f["code"], f["severity"]) for f in run.json()] == [("TM001", "hint")]
    assert run.status == 0
    write(tmp_path / "pyproject.toml", "[tool.torchmode]\nshow-hints = 1\n")
    bad = run_cli("check", "probe.py")
    assert bad.status == 2 and "'show-hints' must be true or false" in bad.err
