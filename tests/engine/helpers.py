"""Small helpers for the engine tests: analyse a snippet, list (line, code) pairs."""

from __future__ import annotations

import textwrap

from torchmode.analyzer import INTERNAL_ERROR_PREFIX, analyze
from torchmode.findings import AnalysisResult, ForwardCallFact
from torchmode.settings import DEFAULT_SETTINGS, Settings

HEADER = "import torch\nimport torch.nn as nn\n"


def run(src: str, path: str = "snippet.py", settings: Settings = DEFAULT_SETTINGS,
        project: object = None, header: bool = True) -> AnalysisResult:
    text = (HEADER if header else "") + textwrap.dedent(src)
    result = analyze(text, path, settings, project)  # type: ignore[arg-type]
    assert result.syntax_error is None or not result.syntax_error.startswith(
        INTERNAL_ERROR_PREFIX), result.syntax_error
    return result


def codes(src: str, **kw: object) -> list[tuple[int, str]]:
    """(1-based line of the snippet, code) for each finding; the header is not counted."""
    result = run(src, **kw)  # type: ignore[arg-type]
    assert result.syntax_error is None, result.syntax_error
    offset = HEADER.count("\n") if kw.get("header", True) else 0
    return [(f.range.start.line + 1 - offset, f.code) for f in result.findings]


def facts(src: str, **kw: object) -> dict[str, ForwardCallFact]:
    """Forward-call facts keyed by the stripped text of their line (write each probed call
    on a line of its own with a distinct argument: ``model(1)``, ``model(2)``)."""
    result = run(src, **kw)  # type: ignore[arg-type]
    lines = (HEADER + textwrap.dedent(src)).splitlines()
    return {lines[f.line].strip(): f for f in result.forward_calls}
