"""The pre-commit hook definition points at the real console script."""

from __future__ import annotations

import re

import tomllib

from .conftest import REPO


def _hook() -> dict[str, str]:
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    fields = dict(re.findall(r"^\s*-?\s*([a-z_]+):\s*([^#\n]+?)\s*(?:#.*)?$", text, re.M))
    return fields


def test_hook_fields() -> None:
    hook = _hook()
    assert hook["id"] == "torchmode"
    assert hook["entry"] == "torchmode check"
    assert hook["language"] == "python"
    assert hook["types_or"] == "[python, jupyter]"


def test_entry_is_the_console_script() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["torchmode"] == "torchmode.cli:main"
    from torchmode.cli import build_parser

    # pre-commit appends file names: `torchmode check a.py b.ipynb` must parse
    args = build_parser().parse_args(["check", "a.py", "b.ipynb"])
    assert args.command == "check" and args.paths == ["a.py", "b.ipynb"]
