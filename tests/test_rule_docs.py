"""The rule docs: one per rule, fixed headings, served from package data."""

from __future__ import annotations

import re

import pytest
from torchmode.rule_docs import SECTIONS, rule_codes, rule_doc, rule_section, rule_title
from torchmode.settings import ALL_CODES

NAMES = {
    "TM001": "missing-eval",
    "TM002": "missing-no-grad",
    "TM003": "missing-train",
    "TM004": "mode-not-called",
    "TM005": "backward-without-grad",
    "TM006": "mode-flag-assignment",
    "TM007": "export-in-train-mode",
    "TM008": "functional-mode-ignored",
    "TM009": "train-undoes-freeze",
}
# Rules whose doc examples are whole programs: analysed as they are.
RUNNABLE_EXAMPLES = ("TM008", "TM009")


def test_every_rule_has_a_doc() -> None:
    assert rule_codes() == ALL_CODES


@pytest.mark.parametrize("code", ALL_CODES)
def test_doc_structure(code: str) -> None:
    doc = rule_doc(code)
    lines = doc.splitlines()
    assert lines[0] == f"# {code} {NAMES[code]}"
    assert rule_title(code) == f"{code} {NAMES[code]}"
    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings == list(SECTIONS), "exactly the RULES.md §5 headings, in order"
    for heading in SECTIONS:
        assert rule_section(code, heading).strip(), f"{heading} is empty"
    assert doc.count("```") % 2 == 0, "unbalanced code fence"


@pytest.mark.parametrize("code", ALL_CODES)
def test_example_shows_bad_and_fixed_code(code: str) -> None:
    example = rule_section(code, "Example")
    blocks = re.findall(r"```python\n(.*?)```", example, re.S)
    assert len(blocks) >= 2
    assert code in blocks[0], "the bad example marks where the rule fires"
    assert all(code not in block for block in blocks[1:]), "fixed code must not be flagged"


@pytest.mark.parametrize("code", ALL_CODES)
def test_fix_safety_matches_rules(code: str) -> None:
    safety = rule_section(code, "Fix safety").lower()
    if code == "TM004":
        assert "**safe**" in safety
    elif code == "TM005":
        assert "no fix" in safety
    else:
        assert "**unsafe**" in safety


@pytest.mark.parametrize("code", ALL_CODES)
def test_references_link_pytorch_docs(code: str) -> None:
    links = re.findall(r"\((https://[^)]+)\)", rule_section(code, "References"))
    assert links and all(link.startswith("https://docs.pytorch.org/docs/stable/") for link in links)


def test_lookup_is_lenient_about_case_and_spaces() -> None:
    assert rule_doc(" tm003 ") == rule_doc("TM003")


@pytest.mark.parametrize("bad", ["TM999", "TM01", "E501", "", "missing-eval"])
def test_unknown_codes_raise_a_clear_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown rule code") as info:
        rule_doc(bad)
    assert "TM001" in str(info.value)  # lists the known codes


def test_unknown_section() -> None:
    with pytest.raises(ValueError, match="unknown section"):
        rule_section("TM001", "Usage")


@pytest.mark.parametrize("code", ALL_CODES)
def test_example_code_parses(code: str) -> None:
    import ast

    for block in re.findall(r"```python\n(.*?)```", rule_doc(code), re.S):
        ast.parse(block)


@pytest.mark.parametrize("code", ALL_CODES)
def test_doc_agrees_with_the_rule_registry(code: str) -> None:
    """Title name and stated fix safety match the engine's rule metadata."""
    from torchmode.rules import RULES

    rule = RULES[code]
    assert rule_title(code) == f"{code} {rule.name}"
    safety = rule_section(code, "Fix safety").lower()
    expected = {"safe": "**safe**", "unsafe": "**unsafe**",
                "none": "no fix"}[rule.fix_applicability.value]
    assert expected in safety


@pytest.mark.parametrize("code", RUNNABLE_EXAMPLES)
def test_examples_run_through_the_analyzer(code: str) -> None:
    """The bad example is reported on its marked line, and only there; the fixed one is clean."""
    from torchmode.analyzer import analyze

    bad, *fixed = re.findall(r"```python\n(.*?)```", rule_section(code, "Example"), re.S)
    marked = [i for i, line in enumerate(bad.splitlines()) if f"# {code}" in line]
    found = [(f.code, f.range.start.line) for f in analyze(bad, "example.py").findings]
    assert found == [(code, line) for line in marked]
    for block in fixed:
        assert analyze(block, "example.py").findings == []
