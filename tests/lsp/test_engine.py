"""The worker process of the language server, driven directly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from torchmode.lsp import engine as engine_module
from torchmode.lsp.engine import ProcessEngine, worker_command
from torchmode.settings import DEFAULT_SETTINGS

from .sources import TRAIN_EVAL


def test_a_worker_that_cannot_be_started_is_counted_said_and_replaced_by_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(engine_module.subprocess, "Popen", no_processes)
    notices: list[str] = []
    restarts: list[bool] = []
    engine = ProcessEngine(on_restart=lambda: restarts.append(True), on_notice=notices.append)
    result = engine.analyze(TRAIN_EVAL, "train.py", DEFAULT_SETTINGS)
    assert {f.code for f in result.findings} == {"TM001", "TM002"}  # analysed all the same
    assert engine.start_failures == 1 and engine.in_process
    assert len(notices) == 1 and "could not be started" in notices[0]
    assert restarts == [True]  # the in-process index is filled again
    engine.close()


def test_the_worker_runs_isolated_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "torchmode").mkdir()
    (tmp_path / "torchmode" / "__init__.py").write_text("raise SystemExit('project code ran')\n")
    command = worker_command()
    assert command[1] == "-I"
    probe = subprocess.run(
        [command[0], "-I", "-c", "import sys; print(sys.path)"], cwd=tmp_path,
        capture_output=True, text=True, check=True,
    )
    assert "''" not in probe.stdout and str(tmp_path) not in probe.stdout
    engine = ProcessEngine()
    try:
        result = engine.analyze(TRAIN_EVAL, str(tmp_path / "train.py"), DEFAULT_SETTINGS)
        assert {f.code for f in result.findings} == {"TM001", "TM002"}
    finally:
        engine.close()
