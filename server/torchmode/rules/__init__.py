"""Rule registry, discovered: every module ``tmNNN.py`` of this package defines one
``Rule`` subclass (its code, name, severity, fix applicability, the facts it needs,
VALID/INVALID examples and ``check``). Adding a rule is adding its module (and its doc
and fixtures); nothing here lists the rules."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable
from types import ModuleType

from ..analysis.api import Facts
from ..findings import Finding
from .base import FixApplicability, Rule

__all__ = ["RULES", "Rule", "CHECKS", "FixApplicability", "rule", "rule_module_names",
           "rule_class"]

_RULE_MODULE = re.compile(r"tm\d{3}")


def rule_module_names(path: Iterable[str]) -> list[str]:
    """Names of the rule modules in ``path`` (``tm001``, ...), in code order."""
    return sorted(m.name for m in pkgutil.iter_modules(list(path))
                  if _RULE_MODULE.fullmatch(m.name))


def rule_class(module: ModuleType) -> type[Rule]:
    """The one ``Rule`` subclass a rule module defines, checked against its file name."""
    found = [obj for _, obj in inspect.getmembers(module, inspect.isclass)
             if issubclass(obj, Rule) and obj is not Rule and obj.__module__ == module.__name__]
    if len(found) != 1:
        raise ValueError(f"{module.__name__} defines {len(found)} rule classes, not one")
    code = module.__name__.rsplit(".", 1)[-1].upper()
    if found[0].code != code:
        raise ValueError(f"{module.__name__} defines {found[0].code}, not {code}")
    return found[0]


def _discover() -> list[Rule]:
    return [rule_class(importlib.import_module(f"{__name__}.{name}"))()
            for name in rule_module_names(__path__)]


RULES: dict[str, Rule] = {r.code: r for r in _discover()}

CHECKS: dict[str, Callable[[Facts], Iterable[Finding]]] = {
    code: r.check for code, r in RULES.items()}


def rule(code: str) -> Rule:
    return RULES[code]
