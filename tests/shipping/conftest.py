"""Shared facts for the packaging tests: the repository, the targets, the built .vsix files.

The .vsix files are built by ``npm run build:vsix`` (``bash .ci/run`` builds the ones CI
inspects). A test about a package that is not there skips, unless the package is named in
``TORCHMODE_REQUIRE_VSIX`` (comma-separated targets, ``universal``, or ``all``): then it fails.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[2]
UNIVERSAL = "universal"

# A user's file with TM001 (line 5, column 11) and TM002 (line 4), and one without findings
BUGGY = (
    "import torch\n\nmodel = torch.nn.Dropout(0.5)\n"
    "for batch in val_loader:\n    out = model(batch)\n"
)
CLEAN = (
    "import torch\n\nmodel = torch.nn.Dropout(0.5)\nmodel.eval()\n"
    "with torch.no_grad():\n    out = model(1)\n"
)


@functools.cache
def package_json() -> dict[str, Any]:
    return json.loads((REPO / "package.json").read_text())


@functools.cache
def project_version() -> str:
    return str(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"])


@functools.cache
def targets() -> dict[str, Any]:
    """``TARGETS`` and ``EXCLUDED`` of client/scripts/targets.mjs, as the build sees them."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        "import { TARGETS, EXCLUDED, ALL_PYTHONS } from './client/scripts/targets.mjs';"
        "console.log(JSON.stringify({ TARGETS, EXCLUDED, ALL_PYTHONS }));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def vsix_path(target: str) -> Path:
    pkg = package_json()
    if target == UNIVERSAL:
        return REPO / f"{pkg['name']}-{pkg['version']}.vsix"
    return REPO / f"{pkg['name']}-{target}-{pkg['version']}.vsix"


def required(target: str) -> bool:
    wanted = {
        t.strip() for t in os.environ.get("TORCHMODE_REQUIRE_VSIX", "").split(",") if t.strip()
    }
    return "all" in wanted or target in wanted


def open_vsix(target: str) -> zipfile.ZipFile:
    """The built package for ``target``; skips (or fails, when required) if there is none."""
    path = vsix_path(target)
    if not path.exists():
        message = f"{path.name} is not built (npm run build:vsix -- --target {target})"
        if required(target):
            pytest.fail(message)
        pytest.skip(message)
    return zipfile.ZipFile(path)


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``python -m build``: the sdist and the wheel of this checkout (built from the sdist)."""
    import sys

    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}
