"""The Python package as PyPI would get it: ``python -m build`` makes an sdist and a wheel
that ``twine check`` accepts, and the wheel installed in a fresh venv gives a working
``torchmode check`` and ``torchmode server`` without test or ML packages."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import distributions
from pathlib import Path

import pytest

from .conftest import BUGGY, project_version

NOT_RUNTIME = {
    "torch",
    "transformers",
    "pytorch-lightning",
    "numpy",
    "pytest",
    "pytest-lsp",
    "hypothesis",
    "ruff",
    "mypy",
    "pre-commit",
    "build",
    "twine",
    "jsonschema",
}


def test_twine_accepts_both(built_dist: dict[str, Path]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(built_dist["sdist"]),
            str(built_dist["wheel"]),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_contents(built_dist: dict[str, Path]) -> None:
    version = project_version()
    assert built_dist["wheel"].name == f"torchmode-{version}-py3-none-any.whl"
    with zipfile.ZipFile(built_dist["wheel"]) as z:
        names = z.namelist()
        meta = z.read(f"torchmode-{version}.dist-info/METADATA").decode()
    assert "torchmode/py.typed" in names and "torchmode/docs/TM001.md" in names
    assert not [n for n in names if n.startswith(("tests/", "client/", "examples/"))]
    assert "Project-URL: Repository, https://github.com/torchmode/torchmode" in meta
    assert "Description-Content-Type: text/markdown" in meta
    with tarfile.open(built_dist["sdist"]) as t:
        members = t.getnames()
    assert f"torchmode-{version}/server/torchmode/lsp/server.py" in members
    assert f"torchmode-{version}/README.md" in members


@pytest.fixture(scope="module")
def fresh_venv(built_dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(built_dist["wheel"]),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return venv


def test_no_test_or_ml_packages(fresh_venv: Path) -> None:
    site = next((fresh_venv / "lib").glob("python3.*/site-packages"))
    installed = {
        d.metadata["Name"].lower().replace("_", "-") for d in distributions(path=[str(site)])
    }
    assert {"torchmode", "pygls", "lsprotocol", "libcst", "jedi"} <= installed
    assert installed & NOT_RUNTIME == set()


def test_check_from_the_wheel(fresh_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "evaluate.py").write_text(BUGGY)
    done = subprocess.run(
        [str(fresh_venv / "bin" / "torchmode"), "check", "evaluate.py", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    codes = sorted(f["code"] for f in json.loads(done.stdout))
    assert codes == ["TM001", "TM002"]


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _read_messages(data: bytes) -> list[dict[str, object]]:
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
        out.append(json.loads(rest[:length]))
        data = rest[length:]
    return out


def test_server_from_the_wheel(fresh_venv: Path, tmp_path: Path) -> None:
    """initialize, initialized, shutdown, exit over stdio: the server answers and ends cleanly."""
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}},
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    ]
    done = subprocess.run(
        [str(fresh_venv / "bin" / "torchmode"), "server"],
        input=b"".join(map(_frame, requests)),
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    replies = {m["id"]: m for m in _read_messages(done.stdout) if "id" in m}
    init = replies[1]["result"]
    assert init["serverInfo"]["name"] == "torchmode"  # type: ignore[index]
    assert init["capabilities"]["codeActionProvider"]  # type: ignore[index]
    assert replies[2]["result"] is None
