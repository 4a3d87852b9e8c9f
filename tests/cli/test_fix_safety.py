"""``check --fix`` never loses or misplaces data: symlinks, hard links, owner, group,
mode, read-only files, a file changed while it is being fixed, unreadable folders,
and text nested too deeply for the fix engine."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import torchmode.fixes
from torchmode.writeback import NotWritten, read_file, write_file

from .conftest import BARE_EVAL, Run, run_subprocess, write

RunCli = Callable[..., Run]
FIXED = BARE_EVAL.replace("    model.eval\n", "    model.eval()\n")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, dropping rights)")


def test_symlink_target_is_fixed_and_the_link_kept(tmp_path: Path, run_cli: RunCli) -> None:
    target = write(tmp_path / "real" / "bare.py", BARE_EVAL)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    run = run_cli("check", "--fix", "link.py")
    assert run.status == 0, run.out + run.err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == FIXED
    assert sorted(os.listdir(tmp_path / "real")) == ["bare.py"]


def test_hard_links_stay_linked(tmp_path: Path, run_cli: RunCli) -> None:
    first = write(tmp_path / "a.py", BARE_EVAL)
    second = tmp_path / "b.py"
    os.link(first, second)
    inode = first.stat().st_ino
    run = run_cli("check", "--fix", "a.py")
    assert run.status == 0, run.out + run.err
    assert first.stat().st_ino == second.stat().st_ino == inode
    assert first.stat().st_nlink == 2
    assert second.read_text() == FIXED


@root_only
def test_owner_group_and_mode_are_kept(tmp_path: Path, run_cli: RunCli) -> None:
    target = write(tmp_path / "bare.py", BARE_EVAL)
    os.chown(target, 1234, 5678)
    target.chmod(0o640)
    run = run_cli("check", "--fix", "bare.py")
    assert run.status == 0, run.out + run.err
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 5678, 0o640)
    assert target.read_text() == FIXED


def test_read_only_file_is_skipped_with_a_clear_line(tmp_path: Path, run_cli: RunCli) -> None:
    target = write(tmp_path / "bare.py", BARE_EVAL)
    target.chmod(0o444)
    run = run_cli("check", "--fix", "bare.py")
    assert run.status == 2
    assert "bare.py: error: read-only file, not fixed" in run.err
    assert "bare.py:5:5: TM004" in run.out  # still reported, where it is
    assert target.read_text() == BARE_EVAL
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


WRITER = textwrap.dedent("""\
    import sys
    with open(sys.argv[1], "a") as handle:
        handle.write("print('saved meanwhile')\\n")
""")


def test_a_file_saved_while_being_fixed_is_not_overwritten(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write(tmp_path / "bare.py", BARE_EVAL)
    real_fix_all = torchmode.fixes.fix_all

    def fix_all_while_another_program_saves(*args: object, **kwargs: object) -> object:
        result = real_fix_all(*args, **kwargs)  # type: ignore[arg-type]
        subprocess.run([sys.executable, "-c", WRITER, str(target)], check=True)
        return result

    monkeypatch.setattr(torchmode.fixes, "fix_all", fix_all_while_another_program_saves)
    run = run_cli("check", "--fix", "bare.py")
    assert run.status == 2
    assert "bare.py: error: changed on disk while being fixed; not fixed (run again)" in run.err
    assert target.read_text() == BARE_EVAL + "print('saved meanwhile')\n"


def test_hard_linked_file_changed_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "x = 1\n")
    os.link(target, tmp_path / "b.py")
    original = read_file(str(target))
    with open(target, "a") as handle:
        handle.write("y = 2\n")
    with pytest.raises(NotWritten, match="changed on disk"):
        write_file(original, b"x = 3\n")
    assert target.read_text() == "x = 1\ny = 2\n"


def test_a_failed_replace_keeps_the_original(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.py"
    target.write_bytes(b"x = 1\r\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    original = read_file(str(target))
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_file(original, b"x = 2\r\n")
    assert target.read_bytes() == b"x = 1\r\n"
    assert os.listdir(tmp_path) == ["a.py"]


def test_bytes_are_written_as_given(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_bytes(b"x = 1\r\n")
    write_file(read_file(str(target)), b"x = 1\r\ny = 2\ro = 3\n")
    assert target.read_bytes() == b"x = 1\r\ny = 2\ro = 3\n"


DROP_RIGHTS = textwrap.dedent("""\
    import locale, os, sys
    from torchmode import analyzer, cli, config, project  # imported while still readable
    from torchmode import cache, reads, resultcache
    from torchmode.output import github, json, sarif, text
    cli.main(["check", "--version"])
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    sys.exit(cli.main(["check", sys.argv[1]]))
""")


def test_an_unreadable_folder_is_reported_like_an_unreadable_file(tmp_path: Path) -> None:
    # Root reads every folder: as root, check as `nobody`, in a folder nobody may enter.
    base = Path(tempfile.mkdtemp(prefix="torchmode-unreadable-")) if os.geteuid() == 0 else tmp_path
    project = base / "project"
    write(project / "ok.py", BARE_EVAL)
    write(project / "secret" / "hidden.py", BARE_EVAL)
    for path in (base, project, project / "ok.py"):
        path.chmod(0o755)
    (project / "secret").chmod(0)
    try:
        if os.geteuid() == 0:
            run = subprocess.run([sys.executable, "-c", DROP_RIGHTS, str(project)],
                                 capture_output=True, text=True, timeout=120)
            status, err = run.returncode, run.stderr
        else:
            done = run_subprocess(["check", str(project)], tmp_path)
            status, err = done.returncode, done.stderr
    finally:
        (project / "secret").chmod(0o755)
        if base != tmp_path:
            shutil.rmtree(base)
    assert status == 2, err
    assert f"{project / 'secret'}: error: cannot read folder: Permission denied" in err


def deep_program(levels: int) -> str:
    return (
        "import torch\nfrom nets import Net\n\nmodel = Net()\n"
        'model.load_state_dict(torch.load("net.pt"))\n'
        "for images, labels in val_loader:\n"
        "    preds = model(images" + " + 1" * levels + ")\n"
    )


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_text_too_deep_for_the_fix_engine_is_declined_not_crashed(
    tmp_path: Path, jobs: str
) -> None:
    write(tmp_path / "a_deep.py", deep_program(8000))
    after = write(tmp_path / "b_bare.py", BARE_EVAL)
    for name in ("c.py", "d.py", "e.py"):  # enough files for --jobs 2 to use processes
        write(tmp_path / name, BARE_EVAL)
    diff = run_subprocess(["check", "--diff", "--unsafe-fixes", "a_deep.py"], tmp_path)
    assert diff.returncode == 1, diff.stderr
    assert "a_deep.py: warning: not fixed: nested more than 1000 levels deep" in diff.stderr
    fixed = run_subprocess(["check", "--fix", "--unsafe-fixes", "--jobs", jobs, "."], tmp_path)
    assert fixed.returncode == 1, fixed.stderr  # the deep file's findings remain
    assert "Traceback" not in fixed.stderr
    assert "a_deep.py: warning: not fixed" in fixed.stderr
    assert after.read_text() == FIXED  # files after it are still fixed


def test_a_crashed_checking_process_is_reported_not_a_traceback(tmp_path: Path) -> None:
    for i in range(6):
        write(tmp_path / f"f{i}.py", BARE_EVAL)
    # Every process of the pool dies on its first file, as libcst did on deep nesting.
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "crash_on_check.py").write_text(
        "import torchmode.cli as cli\n"
        "def crash(task):\n"
        "    import os, signal\n"
        "    os.kill(os.getpid(), signal.SIGSEGV)\n"
        "cli.run_task = crash\n"
    )
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import crash_on_check\n"
        "import torchmode.cli as cli; sys.exit(cli.main(['check', '--jobs', '2', '.']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(helpers)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "f0.py: error: not checked: a checking process crashed" in done.stderr
