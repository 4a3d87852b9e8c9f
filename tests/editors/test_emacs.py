"""Emacs (Debian's emacs-nox 28 with elpa-eglot 1.9) in batch mode against ``torchmode server``:
diagnostics through Flymake, a hover, a quick fix applied by eglot."""

from __future__ import annotations

from pathlib import Path

from .conftest import require_editor, run_session

HERE = Path(__file__).parent


def test_emacs_eglot_flymake_hover_and_quick_fix(project: Path) -> None:
    emacs = require_editor("emacs")
    run_session([emacs, "--batch", "-Q", "-l", str(HERE / "emacs_client.el")], project)
