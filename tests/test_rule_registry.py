"""The rule registry is discovered from the rule modules, and every list of rule codes
a user meets (settings, the editor's settings schema, the README) agrees with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from torchmode import rules
from torchmode.rules import CHECKS, RULES, rule_module_names
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
