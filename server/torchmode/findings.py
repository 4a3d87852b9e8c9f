"""The engine's output: findings and the fixes decided with them.

These are plain frozen dataclasses so they cross process pools (CLI ``--jobs``),
serialise into ``Diagnostic.data`` (LSP) and JSON/SARIF output unchanged.
All positions are 0-based lines and UTF-16 code-unit columns, as in LSP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Same numbers as LSP ``DiagnosticSeverity``."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return {1: "error", 2: "warning", 3: "info", 4: "hint"}[self.value]

    @classmethod
    def from_label(cls, label: str) -> Severity:
        table = {"error": cls.ERROR, "warning": cls.WARNING, "info": cls.INFORMATION,
                 "information": cls.INFORMATION, "hint": cls.HINT}
        try:
            return table[label.lower()]
        except KeyError:
            raise ValueError(
                f"unknown severity {label!r} (use error, warning, info or hint)"
            ) from None


@dataclass(frozen=True, order=True)
class Position:
    line: int
    character: int  # UTF-16 code units


@dataclass(frozen=True, order=True)
class Range:
    start: Position
    end: Position

    @classmethod
    def of(cls, line: int, col: int, end_line: int, end_col: int) -> Range:
        return cls(Position(line, col), Position(end_line, end_col))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Range:
        return cls(Position(**data["start"]), Position(**data["end"]))


@dataclass(frozen=True)
class Related:
    """A second location that explains a finding (e.g. the training step of TM003)."""

    range: Range
    message: str
    path: str | None = None  # None: the same file


class FixKind:
    """What a fix does. The text edit is made later, with libcst, from these facts."""

    INSERT_EVAL = "insert-eval"          # insert `<entity>.eval()` before the target statement
    INSERT_TRAIN = "insert-train"        # insert `<entity>.train()` before the target statement
    WRAP_NO_GRAD = "wrap-no-grad"        # wrap the target statement(s) in `with <spelling>:`
    WRAP_INFERENCE_MODE = "wrap-inference-mode"
    DECORATE_NO_GRAD = "decorate-no-grad"  # add `@<spelling>` to the target function
    ADD_CALL_PARENS = "add-call-parens"  # `m.eval` -> `m.eval()`, `with torch.no_grad:` -> `...()`
    FLAG_TO_METHOD = "flag-to-method"    # `m.training = False` -> `m.eval()`
    ADD_TRAINING_ARG = "add-training-arg"  # `F.dropout(x, p)` -> `F.dropout(x, p, training=...)`
    REAPPLY_FREEZE = "reapply-freeze"    # the freeze statement again after `m.train()`


@dataclass(frozen=True, kw_only=True)
class FixSpec:
    """A fix decided at analysis time; travels in ``Diagnostic.data``. Keyword
    arguments only: nine fields of which five are numbers or flags read wrongly by
    position.

    ``target_line``/``target_end_line`` (0-based, inclusive) delimit the statement
    the fix acts on: the loop/with/def to insert before or wrap, the bare
    ``m.eval`` statement, the ``m.training = ...`` assignment. ``code`` is the
    exact text to insert or to wrap with (``model.eval()``, ``th.no_grad()``,
    ``no_grad()``). ``import_line`` is an import to add (``import torch``) when the
    file has nothing usable, else ``None``.
    """

    kind: str
    title: str
    safe: bool
    target_line: int
    target_end_line: int
    code: str
    entity: str | None = None
    import_line: str | None = None
    preferred: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FixSpec:
        return cls(**data)


@dataclass(frozen=True)
class Finding:
    code: str            # "TM001"
    name: str            # "missing-eval"
    message: str
    severity: Severity
    range: Range
    related: tuple[Related, ...] = ()
    fixes: tuple[FixSpec, ...] = ()
    tags: tuple[str, ...] = ()  # LSP tags by name: "unnecessary", "deprecated"
    # The model the finding is about: its entity key ("model", "self.net"), or for a
    # functional call that ignores the mode (TM008) its module class ("Encoder"); None
    # when no model is spelled (``loss.backward()``). Identifies the finding across
    # edits: fix verification and SARIF fingerprints read it, not the message.
    subject: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.label
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=data["code"],
            name=data["name"],
            message=data["message"],
            severity=Severity.from_label(data["severity"]),
            range=Range.from_dict(data["range"]),
            related=tuple(
                Related(Range.from_dict(r["range"]), r["message"], r.get("path"))
                for r in data.get("related", ())
            ),
            fixes=tuple(FixSpec.from_dict(f) for f in data.get("fixes", ())),
            tags=tuple(data.get("tags", ())),
            subject=data.get("subject"),
        )


@dataclass(frozen=True)
class ForwardCallFact:
    """What the engine believes at one forward call: used by hovers, inlay hints
    and the tests that check the engine against real PyTorch.

    ``modes`` is the set of possible module modes ("train", "eval", "dynamic",
    "unknown"); ``grad_enabled`` is True/False when the engine is sure, else None.
    """

    entity: str
    line: int        # 0-based
    character: int   # UTF-16
    modes: frozenset[str]
    grad_enabled: bool | None
    set_at_line: int | None = None  # 0-based line of the statement that set the mode


@dataclass(frozen=True)
class Ok:
    """The whole file was analysed."""


@dataclass(frozen=True)
class ParseError:
    """The text does not parse (0-based line and column); no findings."""

    line: int
    col: int
    message: str


@dataclass(frozen=True)
class InternalError:
    """The engine failed at ``where`` (``analysis`` or ``rule TM00N``): a bug to report.
    A failing rule costs its own findings only; the others are kept."""

    where: str
    exception: str          # "TypeError: ..."
    traceback: str = ""


@dataclass(frozen=True)
class Partial:
    """The analysis stopped early (statement budget, loop-iteration cap): findings may be
    missing in what was ``skipped``."""

    reason: str
    skipped: tuple[str, ...] = ()


Outcome = Ok | ParseError | InternalError | Partial
OK = Ok()
INTERNAL_ERROR_PREFIX = "internal error"


@dataclass
class AnalysisResult:
    """Everything one analysis of one file produced."""

    findings: list[Finding] = field(default_factory=list)
    forward_calls: list[ForwardCallFact] = field(default_factory=list)
    outcome: Outcome = OK
    # EntityOccurrence (torchmode.analysis.model) per model-name occurrence, for hovers
    entities: list[Any] = field(default_factory=list)

    @property
    def syntax_error(self) -> str | None:
        """One line when the file could not be analysed (``line N: ...`` for a parse
        error, ``internal error ...`` for an engine failure), else None."""
        outcome = self.outcome
        if isinstance(outcome, ParseError):
            return f"line {outcome.line + 1}: {outcome.message}"
        if isinstance(outcome, InternalError):
            return f"{INTERNAL_ERROR_PREFIX} in {outcome.where}: {outcome.exception}"
        return None
