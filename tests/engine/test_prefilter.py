"""Text prefilters are made from the rules' declared needs and the name tables: no rule
can be skipped by a word missing from a hand-kept list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from torchmode.analysis.api import Need
from torchmode.analysis.functional import MODE_FUNCTIONS
from torchmode.analysis.names import (
    EVAL_FUNCTION_PREFIXES,
    EXPORTERS,
    GRAD_CONTEXT_STEMS,
    GRAD_OFF_CTX,
    GRAD_ON_CTX,
    LOADERS,
    SET_GRAD,
)
from torchmode.analysis.prefilter import (
    NEED_WORDS,
    file_prefilter,
    minimal_words,
    text_prefilter,
    words_pattern,
)
from torchmode.analyzer import analyze
from torchmode.rules import RULES

from .helpers import codes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"


def _texts_reported_by(code: str) -> list[str]:
    """The rule's INVALID examples and every fixture file that expects the code."""
    texts = list(RULES[code].INVALID)
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(rf"expect:[^\n]*\b{code}\b", text):
            texts.append(text)
    return texts


@pytest.mark.parametrize("code", sorted(RULES))
def test_a_rule_is_never_skipped_by_the_filter_made_from_its_own_needs(code: str) -> None:
    pattern = text_prefilter(RULES[code].needs)
    texts = _texts_reported_by(code)
    assert texts
    for text in texts:
        assert pattern.search(text), f"{code}: its own prefilter skips\n{text}"
        assert file_prefilter().search(text), f"{code}: the file prefilter skips\n{text}"


def test_every_need_has_words_and_every_rule_needs_something() -> None:
    assert set(NEED_WORDS) == set(Need)
    assert all(NEED_WORDS[need] for need in Need)
    assert all(rule.needs for rule in RULES.values())
    words = {w for need in Need for w in NEED_WORDS[need]}
    assert file_prefilter().pattern == words_pattern(words).pattern


def test_words_come_from_the_tables() -> None:
    for name in (*GRAD_OFF_CTX, *GRAD_ON_CTX, *SET_GRAD):
        assert any(stem in name for stem in GRAD_CONTEXT_STEMS), name
    exports = text_prefilter(frozenset({Need.EXPORTS}))
    functional = text_prefilter(frozenset({Need.FUNCTIONAL_CALLS}))
    forward = text_prefilter(frozenset({Need.FORWARD_CALLS}))
    for name in EXPORTERS:
        assert exports.search(name.rsplit(".", 1)[-1]), name
    for name in MODE_FUNCTIONS:
        assert functional.search(name.rsplit(".", 1)[-1]), name
    for word in (*EVAL_FUNCTION_PREFIXES, *(n.rsplit(".", 1)[-1] for n in LOADERS)):
        assert forward.search(word), word
    assert not functional.search("model.eval()") and not exports.search("F.dropout(x)")


def test_minimal_words_match_the_same_texts() -> None:
    assert minimal_words(["validation", "val", "eval", "test", "testing"]) == ("test", "val")
    pattern = words_pattern(["Batch_Norm", "step"])
    assert pattern.search("F.batch_norm(x)") and pattern.search("opt.STEP()")
    assert not words_pattern([]).search("anything")


def test_an_evaluation_function_named_from_the_table_is_analysed() -> None:
    """``sample_*`` is an evaluation function name, so its forward calls are evaluation
    (TM002); the file holds no other word of a hand-kept list, which skipped it."""
    src = """\
model = nn.Sequential(nn.Linear(8, 2), nn.ReLU())


def sample_outputs(batches):
    return [model(x) for x in batches]
"""
    assert codes(src) == [(5, "TM002")]


def test_a_file_without_any_word_is_skipped() -> None:
    result = analyze("import os\nprint(os.getcwd())\n", "plain.py")
    assert result.findings == [] and result.forward_calls == []
