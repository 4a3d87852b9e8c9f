"""Rule registry, discovered: every module ``tmNNN.py`` of this package is a rule with
its ``RULE`` metadata and its ``check`` that turns facts into findings. Adding a rule
is adding its module (and its doc and fixtures); nothing here lists the rules."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from types import ModuleType

from ..findings import Finding
from .base import Rule

__all__ = ["RULES", "Rule", "CHECKS", "rule", "rule_module_names"]

_RULE_MODULE = re.compile(r"tm\d{3}")


def rule_module_names(path: Iterable[str]) -> list[str]:
    """Names of the rule modules in ``path`` (``tm001``, ...), in code order."""
    return sorted(m.name for m in pkgutil.iter_modules(list(path))
                  if _RULE_MODULE.fullmatch(m.name))


def _discover() -> list[ModuleType]:
    modules = [importlib.import_module(f"{__name__}.{name}")
               for name in rule_module_names(__path__)]
    for module in modules:
        code = module.__name__.rsplit(".", 1)[-1].upper()
        if module.RULE.code != code:
            raise ValueError(f"{module.__name__} defines {module.RULE.code}, not {code}")
    return modules


_MODULES = _discover()

RULES: dict[str, Rule] = {m.RULE.code: m.RULE for m in _MODULES}

CHECKS: dict[str, Callable[..., Iterable[Finding]]] = {m.RULE.code: m.check for m in _MODULES}


def rule(code: str) -> Rule:
    return RULES[code]
