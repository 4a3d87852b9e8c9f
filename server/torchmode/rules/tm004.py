"""TM004 mode-not-called: ``m.eval`` / ``with torch.no_grad:`` without the call."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.api import Facts, MisuseKind
from ..findings import Finding, FixKind, FixSpec, Severity
from .base import Rule, finding

RULE = Rule("TM004", "mode-not-called", Severity.ERROR, "safe",
            "A mode method or grad context used without calling it.")


_REPORTED = (MisuseKind.MODE_NOT_CALLED, MisuseKind.CONTEXT_NOT_CALLED)


def check(fa: Facts) -> Iterator[Finding]:
    for ev in fa.misuses:
        if ev.kind not in _REPORTED:
            continue
        model = ev.kind is MisuseKind.MODE_NOT_CALLED
        text = f"{ev.entity}.{ev.name}" if model else ev.entity
        if model:
            message = (f"{text} is not called: the statement does nothing and {ev.entity} keeps "
                       f"its mode. Write {text}().")
        else:
            message = (f"with {text}: uses the class, not a context manager instance, and raises "
                       f"at run time. Write with {text}():.")
        first, end = fa.stmt_lines(ev.node)
        subject = ev.entity if model else None
        fix = FixSpec(FixKind.ADD_CALL_PARENS, f"Add () to call {text}", True, first, end,
                      f"{text}()", subject, None, True)
        yield finding(RULE, message, fa.range(ev.node), (fix,), subject=subject)
