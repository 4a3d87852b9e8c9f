"""The disk cache of ``torchmode check``: a run with it prints exactly what a run
without it prints, whatever changed in between, and analyses only what changed."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torchmode.analyzer

from .conftest import MISSING_EVAL, REPO, Run, write

RunCli = Callable[..., Run]

# Variants of the files of a small project whose findings cross files: main.py
# builds the model (nets.py) and calls validate() (lib.py), whose TM001 depends on
# what main.py passes; train.py trains after lib.evaluate(), whose TM003 depends
# on what evaluate() does to the model.
VARIANTS: dict[str, list[str]] = {
    "main.py": [
        "import torch\nfrom lib import validate\nfrom nets import Net\n\nmodel = Net()\n"
        "model.eval()\nwith torch.no_grad():\n    validate(model, [])\n",
        "import torch\nfrom lib import validate\nfrom nets import Net\n\nmodel = Net()\n"
        "pass\nwith torch.no_grad():\n    validate(model, [])\n",
        "import torch\nfrom lib import validate\nfrom nets import Net\n\nmodel = Net()\n"
        "pass\nvalidate(model, [])\n",
        "import torch\nfrom lib import validate\nfrom nets import Net\n\nmodel = Net()\n"
        "model.eval()\nwith torch.no_grad():\n    validate(model, [])\n# a comment\n",
        "import torch\nfrom lib import validate\n\nmodel = (\n",   # does not parse
    ],
    "nets.py": [
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.drop = nn.Dropout(0.5)\n\n"
        "    def forward(self, x):\n        return self.drop(x)\n",
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.drop = nn.Linear(2, 2)\n\n"
        "    def forward(self, x):\n        return self.drop(x)\n",
    ],
    "lib.py": [
        "import torch\n\n\ndef validate(model, loader):\n    for x in loader:\n"
        "        model(x)\n\n\ndef evaluate(model, loader):\n    model.eval()\n"
        "    with torch.no_grad():\n        return [model(x) for x in loader]\n",
        "import torch\n\n\ndef validate(model, loader):\n    for x in loader:\n"
        "        model(x)\n\n\ndef evaluate(model, loader):\n    was = model.training\n"
        "    model.eval()\n    with torch.no_grad():\n        out = [model(x) for x in loader]\n"
        "    model.train(was)\n    return out\n",
        "import torch\n\n\ndef validate(model, loader):\n    model.eval()\n    for x in loader:\n"
        "        model(x)\n\n\ndef evaluate(model, loader):\n    model.eval()\n"
        "    with torch.no_grad():\n        return [model(x) for x in loader]\n",
    ],
    "train.py": [
        "import torch\n\nfrom lib import evaluate\n\n\ndef fit(model, train_loader, val_loader):\n"
        "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "    for epoch in range(10):\n        for x, y in train_loader:\n"
        "            optimizer.zero_grad()\n            loss = model(x).sum()\n"
        "            loss.backward()\n            optimizer.step()\n"
        "        evaluate(model, val_loader)\n",
        "import torch\n\nfrom lib import evaluate\n\n\ndef fit(model, train_loader, val_loader):\n"
        "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "    for epoch in range(10):\n        model.train()\n        for x, y in train_loader:\n"
        "            optimizer.zero_grad()\n            loss = model(x).sum()\n"
        "            loss.backward()\n            optimizer.step()\n"
        "        evaluate(model, val_loader)\n",
    ],
}
FORMATS = ("text", "json", "sarif")


def _write_choice(root: Path, choice: dict[str, int]) -> None:
    for name, index in choice.items():
        write(root / name, VARIANTS[name][index])


def _outputs(run_cli: RunCli, *extra: str) -> list[tuple[int, str, str]]:
    runs = [run_cli("check", "--exit-zero", "--format", fmt, "--show-hints", *extra, ".")
            for fmt in FORMATS]
    return [(run.status, run.out, run.err) for run in runs]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cached_runs_print_what_uncached_runs_print(tmp_path: Path, run_cli: RunCli,
                                                    jobs: str) -> None:
    """Random edits, one or two files at a time: after each, the run with the cache
    (warm from the runs before) equals a run without it, in every format."""
    rng = random.Random(11 + int(jobs))
    choice = {name: 0 for name in VARIANTS}
    write(tmp_path / "other.py", "x = 1\n")
    cache = str(tmp_path.parent / f"cache-{jobs}")
    for _ in range(12):
        _write_choice(tmp_path, choice)
        fresh = _outputs(run_cli, "--no-cache")
        assert _outputs(run_cli, "--cache-dir", cache, "--jobs", jobs) == fresh
        assert _outputs(run_cli, "--cache-dir", cache, "--jobs", jobs) == fresh  # warm
        for name in rng.sample(sorted(VARIANTS), rng.choice([1, 2])):
            choice[name] = rng.randrange(len(VARIANTS[name]))


def test_answers_from_other_files_are_checked(tmp_path: Path, run_cli: RunCli) -> None:
    """lib.py's TM001 depends on what main.py passes, train.py's TM003 on what
    evaluate() in lib.py does: each appears and goes with the other file's edit."""
    _write_choice(tmp_path, {"main.py": 0, "nets.py": 0, "lib.py": 0, "train.py": 0})

    def found() -> set[tuple[str, str]]:
        run = run_cli("check", "--format", "json", ".")
        return {(f["path"], f["code"]) for f in run.json()}

    assert found() == {("train.py", "TM003")}
    write(tmp_path / "main.py", VARIANTS["main.py"][1])
    assert found() == {("train.py", "TM003"), ("lib.py", "TM001")}
    write(tmp_path / "lib.py", VARIANTS["lib.py"][1])
    assert found() == {("lib.py", "TM001")}
    write(tmp_path / "main.py", VARIANTS["main.py"][0])
    assert found() == set()


def _count_analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files analysed from now on (fix verification's analyses too)."""
    analysed: list[str] = []
    original = torchmode.analyzer.analyze

    def counting(text: str, path: str = "<unknown>", *args: object, **kwargs: object) -> object:
        analysed.append(os.path.basename(path))
        return original(text, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torchmode.analyzer, "analyze", counting)
    return analysed


def test_unchanged_files_are_not_analysed_again(tmp_path: Path, run_cli: RunCli,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _write_choice(tmp_path, {"main.py": 0, "nets.py": 0, "lib.py": 1, "train.py": 0})
    analysed = _count_analyses(monkeypatch)
    first = run_cli("check", "--format", "json", ".")
    assert sorted(analysed) == ["lib.py", "main.py", "nets.py", "train.py"]
    analysed.clear()
    assert run_cli("check", "--format", "json", ".").out == first.out
    assert analysed == []
    # a comment at the end changes no answer another file reads
    write(tmp_path / "main.py", VARIANTS["main.py"][3])
    assert run_cli("check", "--format", "json", ".").out == first.out
    assert analysed == ["main.py"]


def test_corrupt_entries_are_misses(tmp_path: Path, run_cli: RunCli) -> None:
    _write_choice(tmp_path, {"main.py": 1, "nets.py": 0, "lib.py": 0, "train.py": 0})
    cache = tmp_path.parent / "cache"
    first = run_cli("check", "--cache-dir", str(cache), ".")
    entries = [p for p in cache.rglob("*") if p.is_file() and p.parent.parent.parent != cache]
    assert entries
    for i, entry in enumerate(entries):
        entry.write_bytes(b"" if i % 2 else b"\x80\x04garbage")
    again = run_cli("check", "--cache-dir", str(cache), ".")
    assert (again.status, again.out, again.err) == (first.status, first.out, first.err)


def test_fix_never_uses_stored_reports(tmp_path: Path, run_cli: RunCli) -> None:
    _write_choice(tmp_path, {"main.py": 0, "nets.py": 0, "lib.py": 0, "train.py": 0})
    run_cli("check", ".")
    fixed = run_cli("check", "--fix", "--unsafe-fixes", ".")
    assert "TM003" not in fixed.out
    assert "model.train()" in (tmp_path / "train.py").read_text()
    after = run_cli("check", ".")
    assert after.out == run_cli("check", "--no-cache", ".").out
    assert after.status == 0


def test_cache_folder_beside_pyproject(tmp_path: Path, run_cli: RunCli,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCHMODE_CACHE_DIR")
    write(tmp_path / "pyproject.toml", "[project]\nname = 'p'\n")
    write(tmp_path / "src" / "main.py", MISSING_EVAL)
    monkeypatch.chdir(tmp_path / "src")
    assert run_cli("check", "--no-cache", ".").status == 1
    assert not (tmp_path / ".torchmode_cache").exists()
    assert run_cli("check", ".").status == 1
    folder = tmp_path / ".torchmode_cache"
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f")


def test_concurrent_runs_share_a_cache(tmp_path: Path, run_cli: RunCli) -> None:
    _write_choice(tmp_path, {"main.py": 1, "nets.py": 0, "lib.py": 0, "train.py": 0})
    for i in range(20):
        write(tmp_path / f"m{i}.py", VARIANTS["main.py"][2].replace("model", f"model{i}"))
    expected = run_cli("check", "--no-cache", "--format", "json", ".").out
    cache = str(tmp_path.parent / "shared")
    env = {**os.environ, "PYTHONPATH": str(REPO / "server")}
    command = [sys.executable, "-m", "torchmode", "check", "--format", "json",
               "--cache-dir", cache, "."]
    for _ in range(2):  # cold at once, then warm at once
        procs = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outs = [proc.communicate(timeout=120) for proc in procs]
        assert [out for out, _ in outs] == [expected] * 3, [err for _, err in outs]


def test_named_caller_does_not_depend_on_hash_seed(tmp_path: Path) -> None:
    """Several files pass validate() a model built on the same line: the finding names
    the same one in every process (a stored report is printed by another process)."""
    _write_choice(tmp_path, {"main.py": 1, "nets.py": 0, "lib.py": 0, "train.py": 0})
    for i in range(12):
        write(tmp_path / f"m{i}.py", VARIANTS["main.py"][2].replace("model", f"model{i}"))
    outs = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONPATH": str(REPO / "server"), "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-m", "torchmode", "check", "--no-cache", "."],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert "TM001" in proc.stdout
        outs.add(proc.stdout)
    assert len(outs) == 1


# main.py trains, then validates with lib.validate(), which gets a model in training
# mode: lib.py's TM001 is fixed by model.eval() at the top of validate() and, so that
# the training goes on in training mode, model.train() after the call in main.py.
TRAINS_THEN_VALIDATES = (
    "import torch\nfrom lib import validate\nfrom nets import Net\n\nmodel = Net()\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor epoch in range(3):\n"
    "    for x in []:\n        opt.zero_grad()\n        model(x).sum().backward()\n"
    "        opt.step()\n    with torch.no_grad():\n        validate(model, [])\n"
)


def test_a_listed_fix_is_verified_again_only_when_what_it_read_changed(
        tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """lib.py's listed fix edits main.py (its title names the line): an edit of a file
    the fix's verification did not read keeps lib.py's stored report; an edit of main.py
    that moves the call (and changes nothing main.py passes) changes the fix, so lib.py
    is analysed again, and the output is a fresh run's."""
    write(tmp_path / "main.py", TRAINS_THEN_VALIDATES)
    write(tmp_path / "lib.py", VARIANTS["lib.py"][0])
    write(tmp_path / "nets.py", VARIANTS["nets.py"][0])
    write(tmp_path / "other.py", "import os\n\nx = 1\n")
    analysed = _count_analyses(monkeypatch)

    def check() -> tuple[str, list[str]]:
        """The cached run's output (asserted to be a fresh run's) and what it analysed."""
        analysed.clear()
        out = run_cli("check", "--format", "json", ".").out
        done = sorted(set(analysed))
        assert out == run_cli("check", "--no-cache", "--format", "json", ".").out
        return out, done

    out, _ = check()
    assert "model.train() at line 14 of main.py" in out
    write(tmp_path / "other.py", "import os\n\nx = 1  # changed\ny = 2\n")
    assert check()[1] == ["other.py"]
    moved = TRAINS_THEN_VALIDATES.replace("    for x", "    # one line more\n    for x")
    write(tmp_path / "main.py", moved)
    out, done = check()
    assert "model.train() at line 15 of main.py" in out
    assert done == ["lib.py", "main.py"]
