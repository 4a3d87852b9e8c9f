"""Shared pieces of the rules: the ``Rule`` class every rule derives from, message
parts, fix specs."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from enum import Enum
from typing import ClassVar

from ..analysis.api import Anchor, Facts, ModeKind, ModeOrigin, Need
from ..findings import Finding, FixKind, FixSpec, Range, Related, Severity

_CODE = re.compile(r"TM\d{3}")
_NAME = re.compile(r"[a-z]+(?:-[a-z]+)*")


class FixApplicability(Enum):
    """What the rule's fix may do to run-time behaviour: ``--fix`` and fix-on-save apply
    safe fixes only."""

    SAFE = "safe"        # same behaviour the user meant (``m.eval`` -> ``m.eval()``)
    UNSAFE = "unsafe"    # changes what the program does, on purpose
    NONE = "none"        # no fix is offered


class Rule:
    """A rule: its metadata, the facts it reads, examples that run as tests, and
    ``check``. A subclass in ``tmNNN.py`` is the whole rule; the registry finds it.

    ``VALID`` examples must produce no finding of the rule; every line of an
    ``INVALID`` example marked ``# TMNNN`` must be reported, and no other line."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    fix_applicability: ClassVar[FixApplicability]
    summary: ClassVar[str]
    needs: ClassVar[frozenset[Need]]
    VALID: ClassVar[tuple[str, ...]]
    INVALID: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        missing = [a for a in ("code", "name", "severity", "fix_applicability", "summary",
                               "needs", "VALID", "INVALID") if not hasattr(cls, a)]
        if missing:
            raise TypeError(f"rule {cls.__name__} does not declare {', '.join(missing)}")
        if not _CODE.fullmatch(cls.code) or not _NAME.fullmatch(cls.name):
            raise TypeError(f"rule {cls.__name__}: bad code or name {cls.code} {cls.name}")
        if not cls.needs:
            raise TypeError(f"{cls.code} declares no facts it needs")
        if not cls.VALID or not cls.INVALID:
            raise TypeError(f"{cls.code} needs VALID and INVALID examples")

    def check(self, facts: Facts) -> Iterator[Finding]:
        """The rule's findings in one file."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<rule {self.code} {self.name}>"


def finding(rule: Rule, message: str, rng: Range, fixes: tuple[FixSpec, ...] = (),
            related: tuple[Related, ...] = (), severity: Severity | None = None, *,
            subject: str | None = None) -> Finding:
    return Finding(rule.code, rule.name, message, severity or rule.severity, rng, related, fixes,
                   subject=subject)


def describe_origin(mode: ModeOrigin) -> str:
    """``constructed at line 12`` / ``set by model.train() at line 30`` (1-based lines)."""
    line = f" at line {mode.line + 1}" if mode.line is not None else ""
    if mode.where:
        line += f" in {mode.where}"
    how = mode.how or mode.kind.value
    if how == "constructed":
        return f"constructed{line}"
    if mode.kind is ModeKind.LOADED:
        return f"{how}{line}, which keeps whatever mode it was saved in"
    if how.startswith(("built by", "loaded")):
        return f"{how}{line}"
    if how.endswith(")") and "." not in how.split("(", 1)[0]:
        return f"set by {how}{line}"
    return f"set by {how}{line}"


def insert_fix(facts: Facts, kind: str, entity: str, anchor: Anchor, method: str,
               what: str) -> FixSpec:
    first, end = facts.stmt_lines(anchor.stmt)
    code = f"{entity}.{method}()"
    if anchor.at_start:
        title = f"Insert {code} at the start of {anchor.label}"
    else:
        title = f"Insert {code} before {what or anchor.label}"
    return FixSpec(kind=kind, title=title, safe=False, target_line=first, target_end_line=end,
                   code=code, entity=entity, import_line=None, preferred=True)


def wrap_fixes(facts: Facts, anchor: Anchor) -> tuple[FixSpec, ...]:
    no_grad, imp = facts.spelling("no_grad")
    inference, imp2 = facts.spelling("inference_mode")
    fixes: list[FixSpec] = []
    first, end = facts.stmt_lines(anchor.stmt)
    what = anchor.label if anchor.label.startswith("the ") else "the statement"
    fixes.append(FixSpec(kind=FixKind.WRAP_NO_GRAD, title=f"Wrap {what} in with {no_grad}:",
                         safe=False, target_line=first, target_end_line=end, code=no_grad,
                         entity=None, import_line=imp, preferred=True))
    fixes.append(FixSpec(kind=FixKind.WRAP_INFERENCE_MODE,
                         title=f"Wrap {what} in with {inference}:", safe=False, target_line=first,
                         target_end_line=end, code=inference, entity=None, import_line=imp2,
                         preferred=False))
    if anchor.whole_function is not None:
        fn = anchor.whole_function
        dfirst, dend = facts.stmt_lines(fn)
        fixes.append(FixSpec(kind=FixKind.DECORATE_NO_GRAD,
                             title=f"Decorate {fn.name}() with @{no_grad}", safe=False,
                             target_line=dfirst, target_end_line=dend, code=no_grad, entity=None,
                             import_line=imp, preferred=False))
    return tuple(fixes)


def call_name(node: ast.Call) -> str:
    try:
        return ast.unparse(node.func)
    except Exception:  # pragma: no cover - unparse handles every valid tree
        return "call"
