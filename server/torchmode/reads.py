"""What the analysis of one file read from the project facts, and whether it still holds.

A file's analysis asks the facts three kinds of question: the summary of a function
of another file (``summary_lookup``), what the other files pass to one of its own
functions (``caller_lookup``), and a class of another file (``find_class``). The
verification of its fixes asks two more: which files mention a name
(``texts_containing``), and the facts as they would be after the fix
(``with_texts``). The result is a function of the file's text, its settings and the
answers: the questions asked follow from the text and the earlier answers. So a
stored result is still the result when every answer it read is unchanged
(``RecordingFacts`` records, ``Reads.still_hold`` checks):

- a summary or a class is made from the summaries of the files looked at to find it,
  and which files those are follows from the project's layout (its files and their
  module names). So the answer holds while the layout and the texts of those files
  are unchanged: a digest per file, no summary needs to be made to check it;
- what callers pass is the result of analysing other files; such a question is asked
  again and the answer compared (by ``digest``);
- which files mention a name: asked again, the answer being those files' digests;
- the facts after a fix are made afresh from the files' texts: what they read is the
  texts of the files they looked at (a digest per file, as for a summary) and what
  every file imports (one digest of the whole project's imports).

An edit elsewhere that changes no answer this file reads costs nothing here.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import hashlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis.flow import CallRecord, Summary
    from .analysis.layers import ClassSummary
    from .replay import Answers
    from .solve import ProjectFacts

SUMMARY, CALLERS, CLASS = "summary", "callers", "class"
TEXTS, IMPORTS = "texts", "imports"    # files mentioning a word; every file's imports


class Uncanonical(TypeError):
    """A value with no stable text (its answers cannot be compared across runs)."""


def canonical(value: Any) -> str:
    """A text of ``value`` that is the same for equal values in any process: sets and
    mappings sorted, dataclasses by their compared fields (``Mode.node`` is not)."""
    out: list[str] = []
    _canonical(value, out)
    return "".join(out)


def _canonical(value: Any, out: list[str]) -> None:
    if isinstance(value, enum.Enum):   # before ``str``: a ``StrEnum`` member is one
        out.append(f"{type(value).__name__}.{value.name}")
    elif value is None or isinstance(value, (bool, int, float, str, bytes)):
        out.append(repr(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for item in value:
            _canonical(item, out)
            out.append(",")
        out.append("]")
    elif isinstance(value, (set, frozenset)):
        out.append("{" + ",".join(sorted(canonical(item) for item in value)) + "}")
    elif isinstance(value, Mapping):
        items = sorted((canonical(k), canonical(v)) for k, v in value.items())
        out.append("{" + ",".join(f"{k}:{v}" for k, v in items) + "}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        out.append(type(value).__qualname__ + "(")
        for f in dataclasses.fields(value):
            if f.compare:
                out.append(f.name + "=")
                _canonical(getattr(value, f.name), out)
                out.append(",")
        out.append(")")
    elif isinstance(value, ast.AST):
        out.append(ast.dump(value, include_attributes=True))
    else:
        raise Uncanonical(type(value).__name__)


def digest(value: Any) -> str:
    return hashlib.blake2b(canonical(value).encode("utf-8", "surrogatepass"),
                           digest_size=16).hexdigest()


Question = tuple[str, str, str]       # (kind, the asking file's path, the name asked)


@dataclasses.dataclass(frozen=True)
class Reads:
    """What one analysis read of the project facts (see the module docstring)."""

    questions: tuple[Question, ...]        # asked again when checked
    answers: str                           # digest of their answers
    replayable: bool = True                # False: an answer had no stable text
    layout: str | None = None              # the project layout, when a file was looked at
    looked: tuple[tuple[str, str], ...] = ()   # (file, digest) of the files looked at

    def still_hold(self, facts: ProjectFacts | None) -> bool:
        """Do the current facts give the same answers? (False when they cannot say.)"""
        if not self.replayable:
            return False
        if facts is None:
            return not (self.questions or self.looked)
        if self.layout is not None and facts.layout_digest() != self.layout:
            return False
        if any(facts.file_digest(key) != found for key, found in self.looked):
            return False
        if not self.questions:
            return True
        try:
            return answers_digest(facts, self.questions) == self.answers
        except Uncanonical:
            return False


def answers_digest(facts: ProjectFacts, questions: tuple[Question, ...]) -> str:
    total = hashlib.blake2b(digest_size=16)
    lookups: dict[str, Callable[[str], Any]] = {}
    for kind, path, name in questions:
        if kind == TEXTS:
            total.update(facts.containing_digest(name).encode())
        elif kind == IMPORTS:
            total.update(facts.imports_digest().encode())
        elif kind == CALLERS:
            lookup = lookups.get(path)
            if lookup is None:
                lookup = lookups[path] = facts.caller_lookup(path)
            total.update(digest(lookup(name)).encode())
        else:
            raise Uncanonical(kind)
    return total.hexdigest()


@dataclasses.dataclass
class OverlayReads:
    """What the facts after a fix (``ProjectFacts.with_texts``) read of the original
    files: the files whose texts they looked at, whether they used what every file
    imports, and the words they looked for in every file."""

    files: set[str] = dataclasses.field(default_factory=set)
    imports: bool = False
    words: set[str] = dataclasses.field(default_factory=set)


class RecordingFacts:
    """The project facts as the analysis of one file sees them, what it reads
    recorded (``reads()``). Answers are exactly the wrapped facts' answers."""

    def __init__(self, facts: ProjectFacts, answers: Answers | None = None) -> None:
        self.facts = facts
        self.entries = facts.entries
        self.settings = facts.settings
        self.answers = answers     # the answers themselves, when kept (``replay.py``)
        self._asked: dict[Question, str] = {}
        self._looked: set[str] = set()
        self._replayable = True
        self._overlays = OverlayReads()
        self._overlaid = False

    def reads(self) -> Reads:
        overlays = self._overlays
        for word in sorted(overlays.words):
            self._ask_texts(word)
        if overlays.imports:
            self._asked.setdefault((IMPORTS, "", ""), self.facts.imports_digest())
        questions = tuple(self._asked)
        total = hashlib.blake2b(digest_size=16)
        for question in questions:
            total.update(self._asked[question].encode())
        looked = tuple((key, self.facts.file_digest(key))
                       for key in sorted(self._looked | overlays.files))
        layout = self.facts.layout_digest() if looked or self._overlaid else None
        return Reads(questions, total.hexdigest(), self._replayable, layout, looked)

    def texts_containing(self, word: str) -> list[tuple[str, str]]:
        """(path, text) of the files that mention ``word`` (fix verification's search
        for the callers of a function it changes)."""
        self._ask_texts(word)
        return self.facts.texts_containing(word)

    def _ask_texts(self, word: str) -> None:
        question = (TEXTS, "", word)
        if question not in self._asked:
            self._asked[question] = self.facts.containing_digest(word)

    def with_texts(self, texts: Mapping[str, str]) -> ProjectFacts:
        """The facts with the files of ``texts`` holding these texts (a fix checked
        before it is applied), what they read of the other files recorded."""
        self._overlaid = True
        overlay = self.facts.with_texts(texts)
        overlay.seen = self._overlays
        return overlay

    def module_name(self, path: str) -> str:
        answer = self.facts.module_name(path)
        if self.answers is not None:
            self.answers.modules[path] = answer
        return answer

    def summary_lookup(self, path: str) -> Callable[[str], Summary | None]:
        inner = self.facts.summary_lookup(path, self._looked)
        answers = self.answers
        if answers is None:
            return inner

        def lookup(qual: str) -> Summary | None:
            answer = answers.summaries[(path, qual)] = inner(qual)
            return answer

        return lookup

    def caller_lookup(self, path: str) -> Callable[[str], CallRecord | None]:
        from .solve import _copy_or_none

        inner = self.facts.caller_lookup(path)

        def lookup(function: str) -> CallRecord | None:
            answer = inner(function)
            question = (CALLERS, path, function)
            if question not in self._asked:
                try:
                    self._asked[question] = digest(answer)
                except Uncanonical:
                    self._replayable = False
            if self.answers is not None:  # kept as given: the analysis adds to its copy
                self.answers.callers[(path, function)] = _copy_or_none(answer)
            return answer

        return lookup

    def find_class(self, qualname: str, near: str | None = None) -> ClassSummary | None:
        answer, looked = self.facts.looked_at(lambda: self.facts.find_class(qualname, near))
        self._looked |= looked
        if self.answers is not None:
            self.answers.classes[(qualname, near)] = answer
        return answer
