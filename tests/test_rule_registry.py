"""The rule registry is discovered from the rule modules, and every list of rule codes
a user meets (settings, the editor's settings schema, the README) agrees with it."""

from __future__ import annotations

import importlib
import json
import re
import types
from pathlib import Path

import pytest
from torchmode import rules
from torchmode.rules import CHECKS, RULES, rule_class, rule_module_names
from torchmode.settings import ALL_CODES

REPO = Path(__file__).resolve().parents[1]


def test_registry_is_every_rule_module_in_code_order() -> None:
    modules = rule_module_names(rules.__path__)
    assert modules == sorted(modules) and len(modules) >= 7
    assert tuple(RULES) == tuple(CHECKS) == ALL_CODES == tuple(m.upper() for m in modules)


def test_a_new_rule_module_is_discovered(tmp_path: Path) -> None:
    for name in ("tm001.py", "tm042.py", "base.py", "helpers.py", "tm01.py"):
        (tmp_path / name).write_text("", encoding="utf-8")
    assert rule_module_names([str(tmp_path)]) == ["tm001", "tm042"]


def _schema_patterns() -> dict[str, str]:
    package = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    props = package["contributes"]["configuration"]["properties"]
    return {
        "select": props["torchmode.select"]["items"]["pattern"],
        "ignore": props["torchmode.ignore"]["items"]["pattern"],
        "severity": props["torchmode.severity"]["propertyNames"]["pattern"],
    }


@pytest.mark.parametrize("setting", ["select", "ignore", "severity"])
def test_editor_settings_schema_accepts_exactly_the_rule_codes(setting: str) -> None:
    pattern = re.compile(_schema_patterns()[setting])
    for code in ALL_CODES:
        assert pattern.fullmatch(code), (setting, code)
    if setting == "severity":   # whole codes only: every other code is refused
        others = {f"TM{n:03d}" for n in range(1000)} - set(ALL_CODES)
        assert not [c for c in sorted(others) if pattern.fullmatch(c)]


def test_readme_rule_table_lists_every_rule_with_its_name() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (TM\d{3}) \| ([\w-]+) \|", readme, re.MULTILINE)
    assert rows == [(code, RULES[code].name) for code in ALL_CODES]


def test_registry_holds_one_rule_class_per_module() -> None:
    for code, found in RULES.items():
        module = importlib.import_module(f"torchmode.rules.{code.lower()}")
        assert type(found) is rule_class(module)
        assert found.needs and found.VALID and found.INVALID


def _module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)   # noqa: S102 - test's own text
    return module


_RULE_SOURCE = '''
from torchmode.analysis.api import Need
from torchmode.findings import Severity
from torchmode.rules.base import FixApplicability, Rule

class Example(Rule):
    code = "TM042"
    name = "example-rule"
    severity = Severity.WARNING
    fix_applicability = FixApplicability.NONE
    summary = "An example."
    needs = frozenset({Need.EXPORTS})
    VALID = ("x = 1\\n",)
    INVALID = ("x = 2  # TM042\\n",)
'''


def test_a_rule_class_is_found_and_checked_against_its_module_name() -> None:
    assert rule_class(_module("torchmode.rules.tm042", _RULE_SOURCE)).code == "TM042"
    with pytest.raises(ValueError, match="defines TM042, not TM043"):
        rule_class(_module("torchmode.rules.tm043", _RULE_SOURCE))
    with pytest.raises(ValueError, match="0 rule classes"):
        rule_class(_module("torchmode.rules.tm044", "x = 1\n"))


@pytest.mark.parametrize("drop", ["needs", "VALID", "INVALID", "fix_applicability"])
def test_a_rule_that_does_not_describe_itself_is_refused(drop: str) -> None:
    source = "\n".join(line for line in _RULE_SOURCE.splitlines()
                       if not line.strip().startswith(f"{drop} ="))
    with pytest.raises(TypeError, match=drop):
        _module("torchmode.rules.tm042", source)


def test_a_rule_that_needs_nothing_is_refused() -> None:
    source = _RULE_SOURCE.replace("frozenset({Need.EXPORTS})", "frozenset()")
    with pytest.raises(TypeError, match="declares no facts"):
        _module("torchmode.rules.tm042", source)
