"""What the editor tests share: the buggy file, what a fix must make of it, the server.

Each real editor client (Neovim, Emacs) starts ``torchmode server`` itself, opens
``predict.py``, and must show TM001 only (TM002 is ignored through the settings the
client sends in ``initializationOptions``, so the test also proves those are read).
Editors missing from the machine skip the test, unless named in
``TORCHMODE_REQUIRE_EDITORS`` (``nvim,emacs``): ``bash .ci/run`` installs and requires both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BUGGY = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
model.load_state_dict(torch.load("net.pt"))
for batch in val_loader:
    preds = model(batch)
"""

# After the preferred quick fix for TM001
FIXED = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
model.load_state_dict(torch.load("net.pt"))
model.eval()
for batch in val_loader:
    preds = model(batch)
"""

# The forward call `model(batch)`: 0-based line and UTF-16 character of `model`
HOVER_LINE, HOVER_CHAR = 6, 12
TM001_LINE = 6

# What the editors send as initializationOptions (see README "Other editors")
SETTINGS = {"ignore": ["TM002"], "debounceMs": 50}

SERVER_CMD = [sys.executable, "-m", "torchmode", "server"]


def require_editor(name: str) -> str:
    """The editor's executable; skips (or fails, when required) if it is not installed."""
    path = shutil.which(name)
    if path is None:
        wanted = {e.strip() for e in os.environ.get("TORCHMODE_REQUIRE_EDITORS", "").split(",")}
        if name in wanted:
            pytest.fail(f"{name} is required (TORCHMODE_REQUIRE_EDITORS) but not installed")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the buggy file (and a pyproject.toml, so it is the project root)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "predict.py").write_text(BUGGY)
    return tmp_path


def client_env(project: Path, out: Path) -> dict[str, str]:
    """Environment of an editor driver: what to open, where the server is, where to report."""
    return {
        **os.environ,
        "TM_FILE": str(project / "predict.py"),
        "TM_OUT": str(out),
        "TM_SERVER_CMD": json.dumps(SERVER_CMD),
        "TM_SETTINGS": json.dumps(SETTINGS),
        "TM_HOVER_LINE": str(HOVER_LINE),
        "TM_HOVER_CHAR": str(HOVER_CHAR),
        "HOME": str(project / "home"),  # no user configuration of the editor is read
        "XDG_CONFIG_HOME": str(project / "home" / ".config"),
        "XDG_DATA_HOME": str(project / "home" / ".local" / "share"),
        "XDG_STATE_HOME": str(project / "home" / ".local" / "state"),
    }


def run_session(argv: list[str], project: Path) -> None:
    """Run an editor on its driver script and check what it reports (as JSON)."""
    out = project / "result.json"
    done = subprocess.run(
        argv, env=client_env(project, out), capture_output=True, text=True, timeout=240
    )
    assert out.exists(), done.stdout + done.stderr
    check_session(json.loads(out.read_text()), project)


def check_session(result: dict[str, Any], project: Path) -> None:
    """What every editor must have shown and done."""
    assert result.get("error") is None, result
    # TM002 is ignored through initializationOptions: TM001 alone is reported
    assert [(d["code"], d["line"]) for d in result["diagnostics"]] == [("TM001", TM001_LINE)]
    assert all(d["source"] == "torchmode" for d in result["diagnostics"])
    assert "`train` mode here" in result["hover"]
    assert result["actions"][0].endswith("Insert model.eval() before the loop"), result["actions"]
    assert "model.eval()" in result["applied"]
    assert result["text"].rstrip("\n") + "\n" == FIXED != BUGGY
    assert "TM001" not in result["remaining"]
    # the fix went into the editor's buffer, as an editor does it; the file is unsaved
    assert (project / "predict.py").read_text() == BUGGY
