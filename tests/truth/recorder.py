"""Run a Python program with real PyTorch and record every top-level forward call.

``record_modes(path)`` executes the file in this process (as ``__main__``) with a
global forward pre-hook installed. For each *top-level* module call (a module
called while no other module's forward is running; submodule calls inside a
forward are skipped) it records the call site's line in that file,
``module.training`` and ``torch.is_grad_enabled()`` at the moment of the call.

Reuse from another test folder::

    import sys; sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from truth.recorder import record_modes

Notes:
- Only calls through ``Module.__call__`` fire hooks: ``m.forward(x)`` is not seen.
- Lines and columns are 0-based, like ``ForwardCallFact`` and every torchmode range.
- The grad mode, ``sys.argv`` and the RNG seed are reset around the run, so a
  program that leaves grad disabled (``torch.set_grad_enabled(False)``) does not
  leak into the next one.
"""

from __future__ import annotations

import os
import runpy
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any


@dataclass(frozen=True)
class Recorded:
    """One top-level forward call.

    ``training`` is the mode the call really runs in: the common ``training``
    flag of the module's leaf modules (the layers that compute), so that a
    wrapper whose own flag lags behind its ``.module`` (``DataParallel`` after
    ``dp.module.train()``) and ``m.training = False`` (which leaves the
    children training) are recorded by behaviour. ``None`` when the leaves
    disagree (a frozen backbone inside a training model); ``own_training`` is
    the called module's own flag.
    """

    line: int            # 0-based line of the call site in the program
    training: bool | None  # effective mode (see above); None: mixed
    grad_enabled: bool   # torch.is_grad_enabled() when called
    module_type: str = ""  # class name of the called module (for messages)
    # 0-based column where the call expression starts (`model` in `model(x)`,
    # `self` in `self.model(x)`), so two calls on one line
    # (`criterion(model(x), y)`) are told apart. UTF-8 bytes: equal to UTF-16
    # units on ASCII lines. None when Python gives no position.
    character: int | None = None
    own_training: bool | None = None


def effective_training(module: Any) -> bool | None:
    """The leaves' common training flag; None when they disagree."""
    flags = {m.training for m in module.modules() if next(m.children(), None) is None}
    if not flags:
        flags = {module.training}
    return flags.pop() if len(flags) == 1 else None


def _call_site(frame: FrameType | None, filename: str) -> tuple[int, int | None] | None:
    """(line, column) of the call being made by the innermost program frame."""
    while frame is not None:
        if os.path.realpath(frame.f_code.co_filename) == filename:
            column = None
            positions = list(frame.f_code.co_positions())
            index = frame.f_lasti // 2
            if 0 <= index < len(positions):
                start_line, _, start_col, _ = positions[index]
                if start_line == frame.f_lineno and start_col is not None:
                    column = start_col
            return frame.f_lineno - 1, column
        frame = frame.f_back
    return None


def record_modes(path: str | os.PathLike[str], argv: Sequence[str] = ()) -> list[Recorded]:
    """Execute ``path`` and return its top-level forward calls in call order.

    The program runs in a fresh temporary working directory, so files it saves
    with relative paths (checkpoints, traced models) do not litter the repo.
    """
    import torch
    from torch.nn.modules.module import (
        register_module_forward_hook,
        register_module_forward_pre_hook,
    )

    filename = os.path.realpath(path)
    records: list[Recorded] = []
    depth = 0

    def pre_hook(module: torch.nn.Module, args: Any) -> None:
        nonlocal depth
        if depth == 0:
            site = _call_site(sys._getframe(1), filename)
            if site is not None:
                records.append(
                    Recorded(site[0], effective_training(module), torch.is_grad_enabled(),
                             type(module).__name__, site[1], module.training)
                )
        depth += 1

    def post_hook(module: torch.nn.Module, args: Any, output: Any) -> None:
        nonlocal depth
        depth -= 1

    old_argv = sys.argv
    old_path = list(sys.path)
    old_modules = set(sys.modules)
    old_grad = torch.is_grad_enabled()
    pre = register_module_forward_pre_hook(pre_hook)
    post = register_module_forward_hook(post_hook, always_call=True)
    # As `python path` does: argv and the script's folder first on sys.path, so
    # a program can import its sibling modules (examples/cifar/train.py).
    folder = os.path.dirname(filename)
    sys.argv = [filename, *argv]
    sys.path.insert(0, folder)
    torch.manual_seed(0)
    old_cwd = os.getcwd()
    workdir = tempfile.TemporaryDirectory(prefix="torchmode-truth-")
    os.chdir(workdir.name)
    try:
        runpy.run_path(filename, run_name="__main__")
    finally:
        os.chdir(old_cwd)
        workdir.cleanup()
        pre.remove()
        post.remove()
        sys.argv = old_argv
        sys.path[:] = old_path
        _forget_modules_from(folder, set(sys.modules) - old_modules)
        torch.set_grad_enabled(old_grad)
    return records


def _forget_modules_from(folder: str, names: set[str]) -> None:
    """Drop sibling modules the program imported, so two programs never share them."""
    for name in names:
        module_file = getattr(sys.modules.get(name), "__file__", None)
        if module_file and os.path.dirname(os.path.realpath(module_file)) == folder:
            del sys.modules[name]


def expected_annotations(path: str | os.PathLike[str]) -> dict[int, tuple[bool, bool]]:
    """``# truth: train grad`` / ``# truth: eval no_grad`` comments, by 0-based line.

    They state what the program's author expects PyTorch to do at that call;
    ``test_truth_programs`` checks them against the recording, which keeps the
    programs (and the recorder) honest before the engine is compared with them.
    """
    out: dict[int, tuple[bool, bool]] = {}
    for index, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        marker = line.find("# truth:")
        if marker < 0:
            continue
        words = line[marker + len("# truth:"):].split()
        if len(words) != 2 or words[0] not in ("train", "eval") or words[1] not in (
            "grad", "no_grad"
        ):
            raise ValueError(f"{path}:{index + 1}: bad truth annotation {line[marker:]!r}")
        out[index] = (words[0] == "train", words[1] == "grad")
    return out


def _mode_name(training: bool | None) -> str:
    return "mixed" if training is None else "train" if training else "eval"


def records_at(records: Sequence[Recorded], line: int, character: int) -> list[Recorded]:
    """The recordings of the call that starts at (line, character).

    Falls back to the whole line only for recordings without a column.
    """
    exact = [r for r in records if r.line == line and r.character == character]
    if exact:
        return exact
    return [r for r in records if r.line == line and r.character is None]


def compare_with_engine(records: Sequence[Recorded], facts: Sequence[Any],
                        source_lines: Sequence[str]) -> tuple[list[str], int]:
    """Check every definite engine fact against the recordings at its call.

    ``facts`` are ``ForwardCallFact``s. A fact counts when the engine states one
    mode ({"train"} or {"eval"}) or a grad state and PyTorch made that call.
    Returns (readable disagreements, number of statements compared).
    """
    problems: list[str] = []
    compared = 0
    for fact in facts:
        recs = records_at(records, fact.line, fact.character)
        if not recs:
            continue  # not reached at run time, or m.forward(x) (no hooks)
        text = source_lines[fact.line].strip() if fact.line < len(source_lines) else ""
        where = f"line {fact.line + 1}:{fact.character + 1} ({fact.entity}): {text}"
        if fact.modes in ({"train"}, {"eval"}):
            compared += 1
            (stated,) = fact.modes
            # Mixed leaves (a frozen backbone inside a training model): the
            # engine's claim is about the module's own flag.
            seen = sorted({_mode_name(r.own_training if r.training is None else r.training)
                           for r in recs})
            if seen != [stated]:
                problems.append(f"{where}\n    engine: {stated}, PyTorch: {', '.join(seen)}")
        if fact.grad_enabled is not None:
            compared += 1
            seen_grad = sorted({"grad" if r.grad_enabled else "no_grad" for r in recs})
            stated_grad = "grad" if fact.grad_enabled else "no_grad"
            if seen_grad != [stated_grad]:
                problems.append(
                    f"{where}\n    engine: {stated_grad}, PyTorch: {', '.join(seen_grad)}")
    return problems, compared
