"""Neovim's built-in LSP client (Debian's 0.7.2: ``vim.lsp.start_client``) against
``torchmode server``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import check_session, client_env, require_editor

HERE = Path(__file__).parent


def test_neovim_diagnostics_hover_and_quick_fix(project: Path) -> None:
    nvim = require_editor("nvim")
    out = project / "result.json"
    script = HERE / "neovim_client.lua"
    # `cquit 3` runs only if the script failed before it could quit
    done = subprocess.run(
        [
            nvim,
            "--headless",
            "-u",
            "NONE",
            "-i",
            "NONE",
            "-n",
            "-c",
            f"luafile {script}",
            "-c",
            "cquit 3",
        ],
        env=client_env(project, out),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), done.stdout + done.stderr
    check_session(json.loads(out.read_text()), project)
