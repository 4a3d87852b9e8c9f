"""Emacs (Debian's emacs-nox 28 with elpa-eglot 1.9) in batch mode against ``torchmode server``:
diagnostics through Flymake, a hover, a quick fix applied by eglot."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import check_session, client_env, require_editor

HERE = Path(__file__).parent


def test_emacs_eglot_flymake_hover_and_quick_fix(project: Path) -> None:
    emacs = require_editor("emacs")
    out = project / "result.json"
    done = subprocess.run(
        [emacs, "--batch", "-Q", "-l", str(HERE / "emacs_client.el")],
        env=client_env(project, out),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), done.stdout + done.stderr
    check_session(json.loads(out.read_text()), project)
