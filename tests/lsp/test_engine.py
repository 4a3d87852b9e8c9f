"""The worker process of the language server, driven directly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from torchmode.lsp import engine as engine_module
from torchmode.lsp.engine import ProcessEngine, ThreadEngine, worker_command
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


LIB = "import torch\n\n\ndef validate(model, loader):\n    for x in loader:\n        model(x)\n"
MAIN = ("import torch\nfrom lib import validate\nfrom nets import Net\n\nmodel = Net()\n"
        "model.eval()\nwith torch.no_grad():\n    validate(model, [])\n")
NETS = ("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.drop = nn.Dropout(0.5)\n\n"
        "    def forward(self, x):\n        return self.drop(x)\n")


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_only_documents_whose_cross_file_facts_changed_are_affected(
    tmp_path: Path, kind: str
) -> None:
    """lib.validate()'s finding depends on what main.py passes and on the class in
    nets.py; main.py's on nothing lib.py or nets.py says about mode."""
    engine = ThreadEngine() if kind == "thread" else ProcessEngine()
    paths = {name: str(tmp_path / name) for name in ("lib.py", "main.py", "nets.py")}
    texts = {"lib.py": LIB, "main.py": MAIN, "nets.py": NETS}
    try:
        for name, text in texts.items():
            engine.update(paths[name], text)
        for name in ("lib.py", "main.py"):
            engine.analyze(texts[name], paths[name], DEFAULT_SETTINGS)
        opened = [paths["lib.py"], paths["main.py"]]
        assert engine.affected(opened) == []
        assert engine.affected([paths["nets.py"]]) == [paths["nets.py"]]  # never analysed
        engine.update(paths["main.py"], MAIN + "# a comment\n")
        assert engine.affected(opened) == []
        engine.update(paths["main.py"], MAIN.replace("model.eval()\n", ""))
        assert engine.affected(opened) == [paths["lib.py"]]
        result = engine.analyze(LIB, paths["lib.py"], DEFAULT_SETTINGS)
        assert [f.code for f in result.findings] == ["TM001"]
        assert engine.affected(opened) == []
        engine.update(paths["nets.py"], NETS.replace("nn.Dropout(0.5)", "nn.Linear(2, 2)"))
        assert engine.affected(opened) == opened  # both build or receive a Net
    finally:
        engine.close()


def test_server_process_leaves_libcst_to_the_worker(tmp_path: Path) -> None:
    """The server makes "ignore this line" edits itself but never builds a fix: after
    warming the worker engine and making such an edit, libcst (about 8 MB) is not
    loaded in the server process; asking for a fix in process still works."""
    code = (
        "import sys\n"
        "from torchmode.lsp.engine import ProcessEngine\n"
        "from torchmode.analyzer import analyze\n"
        "engine = ProcessEngine()\n"
        "engine.warm()\n"
        "from torchmode.fixes import apply_edits, noqa_edit\n"
        f"text = {TRAIN_EVAL!r}\n"
        "finding = analyze(text).findings[0]\n"
        "fixed = apply_edits(text, [noqa_edit(text, finding)])\n"
        "engine.close()\n"
        "print('LIBCST', 'libcst' in sys.modules, 'noqa' in fixed)\n"
        "from torchmode.fixes import offered_fixes\n"
        "print('LATER', 'libcst' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert "LIBCST False True" in proc.stdout, proc.stdout + proc.stderr
    assert "LATER True" in proc.stdout, proc.stdout + proc.stderr
