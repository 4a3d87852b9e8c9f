"""Text prefilters, made from what the rules declare they need and from the name tables.

Most files of a real project hold no model code at all; a regular expression over the
text tells, much faster than a parse, that a file cannot produce a finding. Such a
filter is only right while it knows every word some rule depends on, so none is
written by hand: each kind of fact (``Need``) says which names of the tables it cannot
exist without. A rule reads only the kinds it declares (``Facts.for_rule`` refuses the
others), so the filter of its declared needs, and the file filter made of every kind,
cannot skip a file the rule would report on because of a word nobody added.

Inside a file the interpreter runs only the functions whose text could hold a finding
or a fact worth keeping (``RELEVANT_TEXT``), and offers a function what its callers
pass only when it holds an evaluation loop (``EVAL_LOOP_TEXT``): those two filters
are made from the same tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .functional import MODE_FUNCTIONS
from .names import (
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
    """A case-insensitive search for any of ``words``."""
    return any_of([Spelling(frozenset(words))])


@dataclass(frozen=True)
class Spelling:
    """One alternative of a filter: any of ``words`` (lowercase), right after the
    literal ``lead`` (``.`` of a method), not right after a letter when ``whole_start``,
    and followed by a match of the regular expression ``tail``."""

    words: frozenset[str]
    lead: str = ""
    whole_start: bool = False
    tail: str = ""

    def kept(self) -> tuple[str, ...]:
        """The words worth trying: with nothing around them, those holding no other
        word; before a ``tail``, all of them (``validation_`` does not hold ``val_``);
        else those that start with no other word."""
        if self.tail:
            return tuple(sorted(self.words))
        if self.lead or self.whole_start:
            return prefix_minimal_words(self.words)
        return minimal_words(self.words)

    def starts(self) -> set[str]:
        """The characters a match of this alternative can start with."""
        return {self.lead} if self.lead else {w[0] for w in self.kept()}

    def regex(self) -> str:
        behind = "(?<![A-Za-z])" if self.whole_start else ""
        words = "|".join(re.escape(w) for w in self.kept())
        return f"{behind}{re.escape(self.lead)}(?:{words}){self.tail}"


def prefix_minimal_words(words: Iterable[str]) -> tuple[str, ...]:
    """The words without those that start with another one (``validation`` when ``val``
    is there): the same texts match where a word must start at a given place."""
    kept: list[str] = []
    for word in sorted(set(words), key=lambda w: (len(w), w)):
        if not any(word.startswith(shorter) for shorter in kept):
            kept.append(word)
    return tuple(sorted(kept))


def any_of(spellings: Iterable[Spelling]) -> re.Pattern[str]:
    """A case-insensitive search for any of ``spellings``. The leading lookahead lists
    the characters a match can start with: it changes nothing about what matches, but
    lets the engine skip most positions without trying each alternative (with
    IGNORECASE, the engine does not make that first-character check itself)."""
    used = [s for s in spellings if s.kept()]
    if not used:
        return re.compile(r"(?!)")
    firsts = "".join(sorted(set().union(*(s.starts() for s in used))))
    alternatives = "|".join(s.regex() for s in used)
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


# ------------------------------------------------------------- inside a file

# An evaluation name as ``is_eval_loader_name`` reads one: a word of ``EVAL_WORDS``
# starting a name, then the end of that word or a loader suffix (``val_loader``,
# ``testset``, ``validationLoader``).
EVAL_NAME = Spelling(EVAL_WORDS, whole_start=True, tail="(?:[^a-z]|{})".format(
    "|".join(re.escape(s) for s in prefix_minimal_words(LOADER_SUFFIXES))))

# What a function's text must contain to hold a finding or a forward call worth a fact
# in an evaluation region (see ``FunctionRuns._interesting``): a mode switch, a grad
# context, a training step, an export, a loader, an optimizer, a flag assignment, a
# wrapped model, a forward call by name, or an evaluation name.
RELEVANT_TEXT = any_of([
    Spelling(_MODE_SWITCHES, lead=".", tail=r"\b"),
    Spelling(_words(STEP_METHODS, FORWARD_METHODS), lead=".", tail=r"\("),
    Spelling(frozenset({TRAINING_FLAG}), lead=".", tail=r"\s*="),
    Spelling(frozenset({WRAPPED_MODULE}), lead=".", tail=r"\b"),
    Spelling(_words(_last_parts((*GRAD_OFF_CTX, *GRAD_ON_CTX, *SET_GRAD)), BACKWARD_METHODS,
                    NEED_WORDS[Need.EXPORTS], _last_parts(LOADERS), OPTIMIZER_STEMS)),
    EVAL_NAME,
])

# A ``for`` loop over something with an evaluation name (``for x, y in val_loader:``).
EVAL_LOOP_TEXT = re.compile(
    r"\bfor\b[^\n]*\bin\b[^\n]*" + Spelling(EVAL_WORDS, whole_start=True).regex(),
    re.IGNORECASE)
