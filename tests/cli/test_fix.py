"""``torchmode check --fix / --unsafe-fixes / --diff`` and the atomic file write."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from .conftest import BARE_EVAL, MISSING_EVAL, VAL_LINE, Run, notebook, write

RunCli = Callable[..., Run]


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def test_fix_applies_safe_fix_and_keeps_crlf(tmp_path: Path, run_cli: RunCli) -> None:
    target = tmp_path / "bare.py"
    target.write_bytes(_crlf(BARE_EVAL))
    target.chmod(0o750)
    run = run_cli("check", "--fix", "bare.py")
    assert run.status == 0, run.out + run.err  # nothing remains
    data = target.read_bytes()
    assert data == _crlf(BARE_EVAL.replace("    model.eval\n", "    model.eval()\n"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert sorted(os.listdir(tmp_path)) == ["bare.py"]  # no temporary file left behind
    assert "1 fixed" in run.out
    # running it again changes nothing
    again = run_cli("check", "--fix", "bare.py")
    assert again.status == 0 and target.read_bytes() == data


def test_fix_leaves_unsafe_fixes_without_flag(tmp_path: Path, run_cli: RunCli) -> None:
    target = write(tmp_path / "train.py", MISSING_EVAL)
    run = run_cli("check", "--fix", "train.py")
    assert run.status == 1
    assert target.read_text() == MISSING_EVAL
    assert f"train.py:{VAL_LINE}:" in run.out
    assert "fixable with --fix --unsafe-fixes" in run.out


def test_unsafe_fixes(tmp_path: Path, run_cli: RunCli) -> None:
    target = write(tmp_path / "train.py", MISSING_EVAL)
    run = run_cli("check", "--fix", "--unsafe-fixes", "--format", "json", "train.py")
    fixed = target.read_text()
    assert fixed != MISSING_EVAL
    assert "model.eval()" in fixed
    assert "TM001" not in {f["code"] for f in run.json()}
    # the exit status reflects what remains after fixing
    assert run.status == (1 if run.json() else 0)


def test_diff_writes_nothing(tmp_path: Path, run_cli: RunCli) -> None:
    target = write(tmp_path / "bare.py", BARE_EVAL)
    run = run_cli("check", "--diff", "bare.py")
    assert run.status == 1
    assert target.read_text() == BARE_EVAL
    assert run.out.startswith("--- a/bare.py\n+++ b/bare.py\n")
    assert "-    model.eval\n" in run.out and "+    model.eval()\n" in run.out
    assert "Would fix 1 finding in 1 file" in run.err
    clean = write(tmp_path / "ok.py", BARE_EVAL.replace("model.eval\n", "model.eval()\n"))
    run = run_cli("check", "--diff", str(clean.name))
    assert run.status == 0 and run.out == ""


def test_fix_keeps_encoding_and_bom(tmp_path: Path, run_cli: RunCli) -> None:
    latin = tmp_path / "latin.py"
    latin_text = "# -*- coding: latin-1 -*-\n# café\n" + BARE_EVAL
    latin.write_bytes(latin_text.encode("latin-1"))
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + ("# 注意\n" + BARE_EVAL).encode("utf-8"))
    run = run_cli("check", "--fix", ".")
    assert run.status == 0, run.out + run.err
    assert latin.read_bytes() == latin_text.replace("model.eval\n", "model.eval()\n").encode(
        "latin-1")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf# \xe6\xb3\xa8\xe6\x84\x8f\n")
    assert b"model.eval()\n" in bom.read_bytes()


def test_notebooks_are_not_rewritten(tmp_path: Path, run_cli: RunCli) -> None:
    document = notebook([("code", BARE_EVAL)])
    target = write(tmp_path / "nb.ipynb", document)
    run = run_cli("check", "--fix", "nb.ipynb")
    assert target.read_text() == document
    assert run.status == 1
    assert "nb.ipynb:cell 1:" in run.out
