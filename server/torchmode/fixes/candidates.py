"""What a quick fix is: the engine's ``FixSpec`` made into edits, completed, or combined.

A ``Fix`` is what the user sees (one title) and what is applied (edits to the
fix's own file, and maybe to other files of the project). Three shapes:

- single: one ``FixSpec``'s edits, as the engine decided them;
- complete: an ``eval()`` fix with the partner edit that keeps training in train
  mode (``complete.py``), one title for both (``Insert model.eval() before the
  loop and model.train() at line 31``);
- combined: TM001's ``eval()`` and TM002's ``no_grad`` wrap of the same region as
  one fix (``Insert model.eval() and wrap the loop in torch.no_grad()``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..findings import Finding, FixKind, FixSpec
from .complete import Completion, FileEdits
from .textedit import TextEdit

WRAPS = frozenset({FixKind.WRAP_NO_GRAD, FixKind.WRAP_INFERENCE_MODE})


@dataclass(frozen=True)
class Fix:
    """One quick fix: ``spec`` is the engine's fix it carries out (its title is the
    whole fix's title), ``edits`` change the fix's own file, ``other_files`` the rest;
    ``kinds`` lists every kind of edit it makes, ``spec.kind`` first."""

    spec: FixSpec
    edits: tuple[TextEdit, ...]
    other_files: tuple[FileEdits, ...] = ()
    kinds: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def safe(self) -> bool:
        return self.spec.safe

    @property
    def preferred(self) -> bool:
        return self.spec.preferred


def single(spec: FixSpec, edits: list[TextEdit]) -> Fix:
    return Fix(spec, tuple(edits), (), (spec.kind,))


def completed(spec: FixSpec, completion: Completion, preferred: bool) -> Fix:
    """``spec`` (an ``eval()`` insertion) with its follow-on edit."""
    title = f"{spec.title} and {completion.what}"
    kinds = (spec.kind, FixKind.INSERT_TRAIN)
    return Fix(replace(spec, title=title, preferred=preferred), completion.edits,
               completion.other, kinds)


def partner_of(finding: Finding, spec: FixSpec, findings: list[Finding]
               ) -> list[tuple[Finding, FixSpec]]:
    """TM001 <-> TM002 findings about the same model and region whose fixes combine:
    the wrap's block lies within the statement the ``eval()`` goes before (or the
    function it goes at the top of)."""
    out = []
    for other in findings:
        if other.code == finding.code or other.subject != finding.subject:
            continue
        for other_spec in other.fixes:
            pair = (spec, other_spec) if spec.kind == FixKind.INSERT_EVAL else (other_spec, spec)
            if pair[0].kind == FixKind.INSERT_EVAL and pair[1].kind == FixKind.WRAP_NO_GRAD \
                    and pair[0].target_line <= pair[1].target_line \
                    and pair[1].target_end_line <= pair[0].target_end_line:
                out.append((other, other_spec))
    return out


def combined(eval_fix: Fix, wrap: FixSpec, wrap_edits: list[TextEdit]) -> Fix:
    """``eval_fix`` (single or complete) and the ``no_grad`` wrap as one fix. The
    ``eval()`` line goes before the ``with`` header inserted at the same point."""
    spec = eval_fix.spec
    what = wrap.title.removeprefix("Wrap ").split(" in with ", 1)[0]
    title = f"Insert {spec.code} and wrap {what} in {wrap.code}"
    tail = spec.title.split(" and ", 1)
    if len(tail) == 2:  # a complete fix: say its second half too
        title += f", and {tail[1]}"
    merged = replace(spec, title=title, preferred=True)
    edits = eval_fix.edits + tuple(wrap_edits)
    return Fix(merged, edits, eval_fix.other_files, (*eval_fix.kinds, wrap.kind))


__all__ = ["WRAPS", "Fix", "combined", "completed", "partner_of", "single"]
