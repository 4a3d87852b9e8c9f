"""A target's libcst pin (darwin-x64: 1.8.6, the last release with Intel macOS wheels)
makes the same fixes as the libcst the package requires."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, required, targets

CHECKED = ["examples", "tests/fixtures/rules"]


def _fixes(pythonpath: str) -> tuple[str, str]:
    env = {**os.environ, "PYTHONPATH": pythonpath, "PYTHONDONTWRITEBYTECODE": "1"}
    version = subprocess.run(
        [
            sys.executable,
            "-c",
            "import libcst, importlib.metadata as m; print(m.version('libcst'), libcst.__file__)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    diff = subprocess.run(
        [sys.executable, "-m", "torchmode", "check", "--diff", "--unsafe-fixes", *CHECKED],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert diff.returncode in (0, 1), diff.stderr
    return version, diff.stdout


@pytest.mark.parametrize(
    "target", sorted(t for t, s in targets()["TARGETS"].items() if "libcst" in s["pins"])
)
def test_pinned_libcst_makes_the_same_fixes(target: str, tmp_path: Path) -> None:
    pin = targets()["TARGETS"][target]["pins"]["libcst"]
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--target",
            str(tmp_path),
            f"libcst=={pin}",
        ],
        capture_output=True,
        text=True,
    )
    if got.returncode != 0:
        message = f"libcst {pin} could not be installed: {got.stderr[-500:]}"
        if required(target):
            pytest.fail(message)
        pytest.skip(message)
    server = str(REPO / "server")
    pinned_version, pinned = _fixes(os.pathsep.join([server, str(tmp_path)]))
    own_version, own = _fixes(server)
    assert pinned_version.split()[0] == pin and str(tmp_path) in pinned_version
    assert own_version.split()[0] != pin
    assert pinned.count("+++ b/") > 10  # the fixes ran on many files
    assert pinned == own
