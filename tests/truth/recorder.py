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
- Lines are 0-based, like ``ForwardCallFact.line`` and every torchmode range.
- The grad mode, ``sys.argv`` and the RNG seed are reset around the run, so a
  program that leaves grad disabled (``torch.set_grad_enabled(False)``) does not
  leak into the next one.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any


@dataclass(frozen=True)
class Recorded:
    line: int            # 0-based line of the call site in the program
    training: bool       # module.training when called
    grad_enabled: bool   # torch.is_grad_enabled() when called
    module_type: str = ""  # class name of the called module (for messages)


def _call_site_line(frame: FrameType | None, filename: str) -> int | None:
    """0-based line of the innermost frame that belongs to the program file."""
    while frame is not None:
        if os.path.realpath(frame.f_code.co_filename) == filename:
            return frame.f_lineno - 1
        frame = frame.f_back
    return None


def record_modes(path: str | os.PathLike[str], argv: Sequence[str] = ()) -> list[Recorded]:
    """Execute ``path`` and return its top-level forward calls in call order."""
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
            line = _call_site_line(sys._getframe(1), filename)
            if line is not None:
                records.append(
                    Recorded(line, module.training, torch.is_grad_enabled(),
                             type(module).__name__)
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
    try:
        runpy.run_path(filename, run_name="__main__")
    finally:
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
