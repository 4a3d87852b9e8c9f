"""``torchmode check --fix / --unsafe-fixes / --diff`` and the atomic file write."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fixes.complete_sources import TRAIN, UTILS

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


def test_diff_counts_fixes_files_and_what_remains(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "a.py", BARE_EVAL)
    write(tmp_path / "b.py", BARE_EVAL)
    run = run_cli("check", "--diff", "a.py", "b.py")
    assert run.status == 1
    assert run.out.count("--- a/") == 2
    assert run.err == "Would fix 2 findings in 2 files; 0 would remain.\n"
    write(tmp_path / "c.py", MISSING_EVAL)  # its fix is unsafe: not applied by --diff
    run = run_cli("check", "--diff", "c.py")
    assert (run.status, run.out) == (1, "")
    assert run.err == "Would fix 0 findings in 0 files; 1 would remain.\n"


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


# -- complete fixes across files, verification with every rule, listing = applying ----------


def test_helper_in_another_file_is_fixed_in_both_files(tmp_path: Path, run_cli: RunCli) -> None:
    """``model.eval()`` in utils.py's helper comes with ``model.train()`` after its one
    call in train.py: JSON lists that fix, ``--fix --unsafe-fixes`` writes both files."""
    write(tmp_path / "utils.py", UTILS)
    write(tmp_path / "train.py", TRAIN)
    listed = run_cli("check", "--format", "json", ".").json()
    assert [(f["path"], f["code"]) for f in listed] == [("utils.py", "TM001")]
    assert [fix["title"] for fix in listed[0]["fixes"]] == [
        "Insert model.eval() at the start of evaluate() and model.train() at line 14 of "
        "train.py"]
    run = run_cli("check", "--fix", "--unsafe-fixes", ".")
    assert run.status == 0, run.out + run.err
    assert (tmp_path / "utils.py").read_text() == UTILS.replace(
        "    correct = 0\n", "    model.eval()\n    correct = 0\n")
    assert (tmp_path / "train.py").read_text() == TRAIN + "    model.train()\n"
    assert sorted(os.listdir(tmp_path)) == ["train.py", "utils.py"]
    assert run_cli("check", ".").status == 0


def test_diff_shows_both_files(tmp_path: Path, run_cli: RunCli) -> None:
    write(tmp_path / "utils.py", UTILS)
    write(tmp_path / "train.py", TRAIN)
    run = run_cli("check", "--diff", "--unsafe-fixes", ".")
    assert "--- a/utils.py" in run.out and "--- a/train.py" in run.out
    assert "+    model.train()\n" in run.out
    assert (tmp_path / "train.py").read_text() == TRAIN  # nothing written


def test_other_file_changed_meanwhile_fixes_nothing(tmp_path: Path, run_cli: RunCli,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Both files or neither: when train.py no longer has the text the fix was made
    for, utils.py is not written either."""
    import dataclasses

    import torchmode.writeback as writeback

    write(tmp_path / "utils.py", UTILS)
    write(tmp_path / "train.py", TRAIN)
    real = writeback.read_file

    def changed(path: str) -> writeback.ReadFile:
        read = real(path)
        if not path.endswith("train.py"):
            return read
        return dataclasses.replace(read, data=read.data + b"# edited\n")

    monkeypatch.setattr(writeback, "read_file", changed)
    run = run_cli("check", "--fix", "--unsafe-fixes", "utils.py", "train.py")
    assert run.status == 2 and "changed while fixing" in run.err
    assert (tmp_path / "utils.py").read_text() == UTILS


EVAL_LOSS = '''\
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(net.parameters(), lr=0.1)


def eval_loss(loader):
    with torch.no_grad():
        return sum(nn.functional.mse_loss(net(x), y).item() for x, y in loader)


for step, (x, y) in enumerate(train_loader):
    opt.zero_grad()
    nn.functional.mse_loss(net(x), y).backward()
    opt.step()
    if step % 10 == 0:
        print(eval_loss(val_loader))
'''


def test_select_does_not_narrow_verification(tmp_path: Path, run_cli: RunCli) -> None:
    """With ``--select TM001`` the fix is still checked against TM003: ``net.eval()``
    alone in ``eval_loss()`` would train with Dropout off, so the complete fix is applied."""
    target = write(tmp_path / "train.py", EVAL_LOSS)
    run = run_cli("check", "--select", "TM001", "--fix", "--unsafe-fixes", "train.py")
    assert run.status == 0, run.out + run.err
    assert target.read_text() == EVAL_LOSS.replace(
        "def eval_loss(loader):\n", "def eval_loss(loader):\n    net.eval()\n").replace(
        "        print(eval_loss(val_loader))\n",
        "        print(eval_loss(val_loader))\n        net.train()\n")
    assert run_cli("check", "train.py").status == 0  # every rule: nothing new


GENERATOR_HELPER = '''\
import torch
import torch.nn as nn


def predict(model, loader):
    with torch.no_grad():
        for x in loader:
            yield model(x)


model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for out in predict(model, val_loader):
        print(out)
'''


def test_a_fix_that_fails_verification_is_not_listed(tmp_path: Path, run_cli: RunCli) -> None:
    """A generator helper consumed by a ``for`` loop between training steps: no edit
    keeps training in train mode, so nothing is listed as fixable, and ``--fix``
    indeed applies nothing."""
    target = write(tmp_path / "train.py", GENERATOR_HELPER)
    listed = run_cli("check", "--format", "json", "train.py").json()
    assert [(f["code"], f["fixes"]) for f in listed] == [("TM001", [])]
    text = run_cli("check", "train.py")
    assert "fixable" not in text.out
    run = run_cli("check", "--fix", "--unsafe-fixes", "train.py")
    assert run.status == 1 and target.read_text() == GENERATOR_HELPER
