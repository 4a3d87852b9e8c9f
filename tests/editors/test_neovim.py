"""Neovim's built-in LSP client (Debian's 0.7.2: ``vim.lsp.start_client``) against
``torchmode server``."""

from __future__ import annotations

from pathlib import Path

from .conftest import require_editor, run_session

HERE = Path(__file__).parent


def test_neovim_diagnostics_hover_and_quick_fix(project: Path) -> None:
    nvim = require_editor("nvim")
    script = HERE / "neovim_client.lua"
    # `cquit 3` runs only if the script failed before it could quit
    run_session(
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
        project,
    )
