"""Rule registry: metadata for TM001..TM009 and the checks that turn facts into findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..findings import Finding, Severity
from . import tm001, tm002, tm003, tm004, tm005, tm006, tm007, tm008, tm009
from .base import Rule

__all__ = ["RULES", "Rule", "CHECKS", "rule"]

RULES: dict[str, Rule] = {
    m.RULE.code: m.RULE for m in (tm001, tm002, tm003, tm004, tm005, tm006, tm007, tm008, tm009)
}

CHECKS: dict[str, Callable[..., Iterable[Finding]]] = {
    m.RULE.code: m.check for m in (tm001, tm002, tm003, tm004, tm005, tm006, tm007, tm008, tm009)
}


def rule(code: str) -> Rule:
    return RULES[code]


@dataclass(frozen=True)
class _Unused:  # keeps Severity imported for readers of this module's API
    severity: Severity = Severity.WARNING
