"""pre-commit runs the hook of .pre-commit-hooks.yaml for real: ``pre-commit try-repo``
against this repository, in a throwaway git repository with a buggy and a clean file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import BUGGY, CLEAN, REPO


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_try_repo(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "evaluate.py").write_text(BUGGY)
    (work / "clean.py").write_text(CLEAN)
    (work / "notes.txt").write_text("model(batch) is not Python\n")
    _git(work, "init", "-q")
    _git(work, "add", ".")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(REPO),
                "torchmode",
                "--verbose",
                "--files",
                *files,
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    failed = try_repo("evaluate.py", "clean.py", "notes.txt")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "torchmode" in failed.stdout and "Failed" in failed.stdout
    assert "evaluate.py:5:11: TM001 [missing-eval]" in failed.stdout
    assert "evaluate.py:4:1: TM002 [missing-no-grad]" in failed.stdout
    assert "clean.py:" not in failed.stdout and "notes.txt" not in failed.stdout

    passed = try_repo("clean.py", "notes.txt")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
