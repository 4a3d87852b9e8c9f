"""Text prefilters are made from the rules' declared needs and the name tables: no rule
can be skipped by a word missing from a hand-kept list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from torchmode.analysis.api import Need
from torchmode.analysis.functional import MODE_FUNCTIONS
from torchmode.analysis.names import (
    BACKWARD_METHODS,
    EVAL_FUNCTION_PREFIXES,
    EVAL_WORDS,
    EXPORTERS,
    FORWARD_METHODS,
    GRAD_CONTEXT_STEMS,
    GRAD_OFF_CTX,
    GRAD_ON_CTX,
    LOADER_SUFFIXES,
    LOADERS,
    MODE_METHODS,
    OPTIMIZER_STEMS,
    SET_GRAD,
    STEP_METHODS,
    TRAINING_FLAG,
    WRAPPED_MODULE,
)
from torchmode.analysis.prefilter import (
    EVAL_LOOP_TEXT,
    NEED_WORDS,
    RELEVANT_TEXT,
    file_prefilter,
    minimal_words,
    prefix_minimal_words,
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


def _last(names: tuple[str, ...] | frozenset[str]) -> list[str]:
    return [name.rsplit(".", 1)[-1] for name in names]


def _function_texts() -> list[str]:
    """Each table word as the interpreter meets it in a function's text."""
    texts = [f"m.{m}()" for m in MODE_METHODS] + [f"x.{m}(y)" for m in STEP_METHODS] + \
        [f"model.{m}(x)" for m in FORWARD_METHODS] + \
        [f"m.{TRAINING_FLAG} = False", f"model.{WRAPPED_MODULE}.fc", "m.train(False)"]
    texts += [f"with torch.{c}():" for c in _last((*GRAD_OFF_CTX, *GRAD_ON_CTX, *SET_GRAD))]
    texts += [f"loss.{m}()" for m in BACKWARD_METHODS] + [f"{name}(m, x)" for name in EXPORTERS]
    texts += [f"{name}(path)" for name in LOADERS] + [f"torch.{s}.SGD(p)" for s in OPTIMIZER_STEMS]
    for word in EVAL_WORDS:
        texts += [f"{word}_loader", f"for x in {word}:", f"self.{word.upper()} = 1"]
        texts += [f"{word}{suffix}" for suffix in LOADER_SUFFIXES]
    return texts


def test_the_function_filter_matches_every_word_of_its_tables() -> None:
    for text in _function_texts():
        assert RELEVANT_TEXT.search(text), text
    for word in EVAL_WORDS:
        assert EVAL_LOOP_TEXT.search(f"for x, y in self.{word}_loader:"), word
        assert EVAL_LOOP_TEXT.search(f"for batch in {word.capitalize()}Set:"), word


def test_the_function_filter_skips_text_without_those_words() -> None:
    for text in ("return x + 1", "interval = retest(x)", "self.evaluator_steps += 1",
                 "model.trainer = None", "opt.stepper(x)", "model.modules()"):
        assert not RELEVANT_TEXT.search(text), text
    assert not EVAL_LOOP_TEXT.search("for x in train_loader:  # interval")
    assert not EVAL_LOOP_TEXT.search("val = [x for x in items]")


def test_the_first_character_lookahead_changes_no_match() -> None:
    """The lookahead is made from the words; without it the filters match the same."""
    for pattern in (RELEVANT_TEXT, file_prefilter()):
        lookahead, body = pattern.pattern.split(")", 1)
        assert lookahead.startswith("(?=[")
        bare = re.compile(body, re.IGNORECASE)
        texts = _function_texts() + [p.read_text(encoding="utf-8")
                                     for p in sorted(FIXTURES.rglob("*.py"))]
        for text in texts:
            for line in text.splitlines():
                assert bool(pattern.search(line)) == bool(bare.search(line)), line


def test_prefix_minimal_words_keep_words_that_only_hold_another() -> None:
    """``eval`` holds ``val`` but does not start with it: a word that must start a name
    keeps both."""
    assert prefix_minimal_words(["val", "validation", "eval", "evaluation"]) == ("eval", "val")
