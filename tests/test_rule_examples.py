"""Each rule's own VALID and INVALID examples run (Fixit's way): an INVALID example is
reported on exactly the lines it marks ``# TMNNN``, a VALID one not at all; and a rule
reads only the facts it declares, so nothing made from its declaration can skip it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from torchmode.analysis.api import Facts, Need
from torchmode.analyzer import analyze, build
from torchmode.findings import OK
from torchmode.rules import RULES
from torchmode.settings import DEFAULT_SETTINGS
from torchmode.source import SourceText, parse_python

FIXTURES = Path(__file__).parent / "fixtures" / "rules"

EXAMPLES = [(code, kind, index) for code, rule in RULES.items()
            for kind, examples in (("VALID", rule.VALID), ("INVALID", rule.INVALID))
            for index in range(len(examples))]


def _example(code: str, kind: str, index: int) -> str:
    return getattr(RULES[code], kind)[index]  # type: ignore[no-any-return]


def _marked(text: str, code: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines()) if re.search(rf"#\s*{code}\b", line)]


@pytest.mark.parametrize(("code", "kind", "index"), EXAMPLES)
def test_rule_example(code: str, kind: str, index: int) -> None:
    text = _example(code, kind, index)
    result = analyze(text, "example.py")
    assert result.outcome == OK
    reported = sorted({f.range.start.line for f in result.findings if f.code == code})
    expected = _marked(text, code) if kind == "INVALID" else []
    assert kind == "VALID" or expected, f"{code}'s INVALID example marks no line"
    assert reported == expected


def _reads_only_declared(code: str, text: str, path: str) -> None:
    fa = build(parse_python(text), SourceText(text, path), path, DEFAULT_SETTINGS, None)
    rule = RULES[code]
    list(rule.check(Facts(fa).for_rule(rule.needs)))   # raises on an undeclared fact


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_reads_only_the_facts_it_declares(code: str) -> None:
    texts = [*RULES[code].VALID, *RULES[code].INVALID]
    texts += [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.py"))]
    for text in texts:
        _reads_only_declared(code, text, "example.py")


def test_an_undeclared_fact_is_refused() -> None:
    text = RULES["TM001"].INVALID[0]
    fa = build(parse_python(text), SourceText(text, "t.py"), "t.py", DEFAULT_SETTINGS, None)
    view = Facts(fa).for_rule(frozenset({Need.EXPORTS}))
    assert view.exports == ()
    with pytest.raises(LookupError, match="FORWARD_CALLS"):
        _ = view.forward_calls
