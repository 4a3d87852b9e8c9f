"""Text prefilters, made from what the rules declare they need and from the name tables.

Most files of a real project hold no model code at all; a regular expression over the
text tells, much faster than a parse, that a file cannot produce a finding. Such a
filter is only right while it knows every word some rule depends on, so none is
written by hand: each kind of fact (``Need``) says which names of the tables it cannot
exist without. A rule reads only the kinds it declares (``Facts.for_rule`` refuses the
others), so the filter of its declared needs, and the file filter made of every kind,
cannot skip a file the rule would report on because of a word nobody added.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .functional import MODE_FUNCTIONS
from .names import (
    BACKWARD_METHODS,
    EVAL_FUNCTION_PREFIXES,
    EVAL_WORDS,
    EXPORTERS,
    GRAD_CONTEXT_STEMS,
    LOADERS,
    MODE_METHODS,
    STEP_METHODS,
)
from .needs import Need


def _last_parts(names: Iterable[str]) -> set[str]:
    """``torch.jit.trace`` -> ``trace``: the part a file must spell, whatever it imports."""
    return {name.rsplit(".", 1)[-1] for name in names}


def _words(*groups: Iterable[str]) -> frozenset[str]:
    return frozenset(w.lower().strip("_") for group in groups for w in group)


_MODE_SWITCHES = _words(MODE_METHODS)
_GRAD_CONTEXTS = _words(GRAD_CONTEXT_STEMS)
_STEPS = _words(STEP_METHODS, BACKWARD_METHODS)
# An evaluation region: an evaluation name (loop, loader, function), a grad context, a
# model loaded for inference, a periodic evaluation inside a training loop, or the
# code after ``m.eval()``.
_EVALUATION = _words(EVAL_WORDS, EVAL_FUNCTION_PREFIXES, _last_parts(LOADERS)) | \
    _GRAD_CONTEXTS | _STEPS | _MODE_SWITCHES

NEED_WORDS: dict[Need, frozenset[str]] = {
    Need.FORWARD_CALLS: _EVALUATION,
    Need.ARGUMENT_USES: _STEPS,
    Need.TRAINING_STEPS: _STEPS,
    Need.BACKWARD_CALLS: _words(BACKWARD_METHODS),
    Need.EXPORTS: _words(_last_parts(EXPORTERS)),
    Need.MISUSES: _MODE_SWITCHES | _GRAD_CONTEXTS,
    Need.FUNCTIONAL_CALLS: _words(_last_parts(MODE_FUNCTIONS)),
    Need.FREEZES: _MODE_SWITCHES,
}

# What a function's text holds when it could want what its callers pass: a mode call, a
# grad context, a training step, an export (see Interpreter._wants_callers).
CALLER_WORTHY_WORDS = _MODE_SWITCHES | _GRAD_CONTEXTS | _STEPS | NEED_WORDS[Need.EXPORTS]


def minimal_words(words: Iterable[str]) -> tuple[str, ...]:
    """The words without those that hold another one (``validation`` when ``val`` is
    there): the same texts match, with fewer alternatives to try."""
    unique = sorted(set(words), key=lambda w: (len(w), w))
    kept: list[str] = []
    for word in unique:
        if not any(shorter in word for shorter in kept):
            kept.append(word)
    return tuple(sorted(kept))


def words_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """A case-insensitive search for any of ``words``. The leading lookahead lists the
    words' first characters: it changes nothing about what matches, but lets the
    engine skip most positions without trying each alternative (with IGNORECASE, the
    engine does not make that first-character check itself)."""
    kept = minimal_words(words)
    if not kept:
        return re.compile(r"(?!)")
    firsts = "".join(sorted({w[0] for w in kept}))
    alternatives = "|".join(re.escape(w) for w in kept)
    return re.compile(f"(?=[{re.escape(firsts)}])(?:{alternatives})", re.IGNORECASE)


@lru_cache(maxsize=64)
def text_prefilter(needs: frozenset[Need]) -> re.Pattern[str]:
    """The filter for rules that need ``needs``: a text it does not match holds none of
    those facts."""
    return words_pattern(w for need in needs for w in NEED_WORDS[need])


def file_prefilter() -> re.Pattern[str]:
    """A file this does not match cannot produce a finding of any rule: the filter of
    every kind of fact, since a rule reads only facts of the kinds it declares (and
    the rules need not be imported to know it)."""
    return text_prefilter(frozenset(Need))
