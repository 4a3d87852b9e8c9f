"""A slice of ``benchmarks/fuzz.py`` in the test suite: generated and mutated files
and notebooks through ``check`` and ``check --fix``, and random edit sequences
through the server; no crash, traceback or hang, and every fixed file parses.
The full run (2,000 files, 500 sequences, a 10,000-edit load test) is the benchmark."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FUZZ = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz.py"


def load_fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("torchmode_fuzz", FUZZ)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_fuzzed_files_through_check_and_fix() -> None:
    fuzz = load_fuzz()
    figures = fuzz.Figures()
    fuzz.fuzz_cli(150, seed=1, figures=figures, batch=150)
    assert figures.problems == []
    assert figures.files == 150 and figures.fixed_files > 10


def test_random_edit_sequences_through_the_server() -> None:
    fuzz = load_fuzz()
    figures = fuzz.Figures()
    fuzz.fuzz_server(20, 2000, seed=2, figures=figures)
    assert figures.problems == []
    assert figures.sequences == 20 and figures.requests >= 20
    growth = figures.memory["server_after_mb"] - figures.memory["server_before_mb"]
    assert growth < 5, figures.memory
