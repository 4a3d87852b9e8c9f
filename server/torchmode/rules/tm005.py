"""TM005 backward-without-grad: ``backward()`` where gradients are disabled."""

from __future__ import annotations

from collections.abc import Iterator

from ..analysis.api import Facts, Grad
from ..findings import Finding, Severity
from .base import Rule, finding

RULE = Rule("TM005", "backward-without-grad", Severity.ERROR, "none",
            "backward() inside a no_grad / inference_mode region.")


def check(fa: Facts) -> Iterator[Finding]:
    for ev in fa.backward_calls:
        if ev.grad != {Grad.OFF}:
            continue
        message = ("backward() runs with gradients disabled (inside torch.no_grad(), "
                   "inference_mode() or set_grad_enabled(False)): the loss has no graph, so it "
                   "raises at run time. Move it out of the block or wrap it in "
                   "torch.enable_grad().")
        yield finding(RULE, message, fa.range(ev.node), subject=None)
