"""TM004 mode-not-called: ``m.eval`` / ``with torch.no_grad:`` without the call."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.context import FileAnalysis
from ..findings import Finding, FixKind, FixSpec, Severity
from .base import Rule, finding

RULE = Rule("TM004", "mode-not-called", Severity.ERROR, "safe",
            "A mode method or grad context used without calling it.")


def check(fa: FileAnalysis) -> Iterator[Finding]:
    for ev in fa.interp.flags.values():
        if ev.code != "TM004":
            continue
        text = ev.key if ev.detail in ("no_grad", "inference_mode", "enable_grad") else \
            f"{ev.key}.{ev.detail}"
        if ev.detail in ("eval", "train"):
            message = (f"{text} is not called: the statement does nothing and {ev.key} keeps its "
                       f"mode. Write {text}().")
        else:
            message = (f"with {text}: uses the class, not a context manager instance, and raises "
                       f"at run time. Write with {text}():.")
        first, end = fa.stmt_lines(ev.node)
        fix = FixSpec(FixKind.ADD_CALL_PARENS, f"Add () to call {text}", True, first, end,
                      f"{text}()", ev.key if ev.detail in ("eval", "train") else None, None, True)
        yield finding(RULE, message, fa.range(ev.node), (fix,),
                      subject=ev.key if ev.detail in ("eval", "train") else None)
