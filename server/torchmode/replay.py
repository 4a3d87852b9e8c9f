"""The answers one analysis got from the project facts, given again elsewhere.

The language server's project facts live in its worker process. To analyse the
next version of a small document in the server process (no hop to the worker),
the worker sends back, with each analysis, every answer the analysis got from the
facts (``Answers``, filled by ``RecordingFacts``). ``ReplayFacts`` gives the same
answers to the same questions; a question the last analysis did not ask raises
``Unanswered``, and the document is analysed in the worker instead. An analysis
is a function of its text, settings and answers, so a replayed one is what the
worker would have found, as long as the facts have not changed since
(``lsp.routing`` keeps answers only for the facts they came from).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .analysis.flow import CallRecord, Summary
    from .analysis.layers import ClassSummary


Q = TypeVar("Q")
A = TypeVar("A")


class Unanswered(BaseException):
    """A question the kept answers do not hold. A BaseException: the engine's
    last-resort ``except Exception`` guards must not turn it into a result."""


@dataclass
class Answers:
    """Every answer of one analysis, by question."""

    modules: dict[str, str] = field(default_factory=dict)
    summaries: dict[tuple[str, str], Summary | None] = field(default_factory=dict)
    callers: dict[tuple[str, str], CallRecord | None] = field(default_factory=dict)
    classes: dict[tuple[str, str | None], ClassSummary | None] = field(default_factory=dict)


class ReplayFacts:
    """The project facts as far as ``answers`` tell them (see the module docstring)."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers

    def module_name(self, path: str) -> str:
        return _known(self.answers.modules, path)

    def summary_lookup(self, path: str) -> Callable[[str], Summary | None]:
        summaries = self.answers.summaries
        return lambda qual: _known(summaries, (path, qual))

    def caller_lookup(self, path: str) -> Callable[[str], CallRecord | None]:
        from .solve import _copy_or_none

        callers = self.answers.callers
        # a copy, as the facts give: the analysis adds to what it is given
        return lambda function: _copy_or_none(_known(callers, (path, function)))

    def find_class(self, qualname: str, near: str | None = None) -> ClassSummary | None:
        return _known(self.answers.classes, (qualname, near))


def _known(answers: Mapping[Q, A], question: Q) -> A:
    try:
        return answers[question]
    except KeyError:
        raise Unanswered(repr(question)) from None
