"""Hover content: what a mode call, grad context or layer does, and the mode of a model.

Pure functions over one line of text and the last analysis result, so the language
server answers hovers without re-analysing (a hover must take milliseconds on a
5,000-line file). Markdown, short, with a link to the PyTorch docs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .analysis.model import PUBLIC_MODES, ModeKind
from .findings import ForwardCallFact, Position, Range
from .source import codepoint_index, utf16_len

DOCS = "https://pytorch.org/docs/stable"
MODES_NOTE = (
    "[Locally disabling gradient computation]"
    f"({DOCS}/notes/autograd.html#locally-disabling-gradient-computation)"
)
_DIFF = (
    "`eval()` changes how *layers* compute (dropout off, batch norm uses running statistics); "
    "`no_grad()` changes *autograd* (no graph is recorded). Evaluation usually needs both."
)

KEYWORD_DOCS: dict[str, str] = {
    "eval": (
        "**`Module.eval()`**: switch the module and all its submodules to evaluation mode "
        "(same as `train(False)`); returns the module.\n\n"
        "- train mode: `Dropout` zeroes activations at random, `BatchNorm` normalises with the "
        "batch statistics and updates its running averages.\n"
        "- eval mode: `Dropout` is the identity, `BatchNorm` uses the running averages and "
        "leaves them alone.\n\n"
        f"{_DIFF}\n\n[torch.nn.Module.eval]({DOCS}/generated/torch.nn.Module.html#torch.nn.Module.eval)"
        f" · {MODES_NOTE}"
    ),
    "train": (
        "**`Module.train(mode=True)`**: switch the module and all its submodules to training "
        "mode (`train(False)` is `eval()`); returns the module. Modules start in training mode "
        "when constructed.\n\n"
        "- train mode: `Dropout` is active, `BatchNorm` uses batch statistics and updates its "
        "running averages.\n"
        "- eval mode: `Dropout` is the identity, `BatchNorm` uses the running averages.\n\n"
        "Call it again where training resumes after an evaluation.\n\n"
        f"{_DIFF}\n\n[torch.nn.Module.train]({DOCS}/generated/torch.nn.Module.html#torch.nn.Module.train)"
        f" · {MODES_NOTE}"
    ),
    "no_grad": (
        "**`torch.no_grad()`**: context manager / decorator that stops autograd from recording "
        "operations: less memory, faster forward passes, outputs with `requires_grad=False`.\n\n"
        "It does **not** change module modes: dropout and batch norm still behave as in "
        "training unless the model is in `eval()` mode.\n\n"
        f"[torch.no_grad]({DOCS}/generated/torch.no_grad.html) · {MODES_NOTE}"
    ),
    "inference_mode": (
        "**`torch.inference_mode()`**: like `no_grad()`, and faster still: tensors made inside "
        "can never be used in autograd later (no version counters, no view tracking).\n\n"
        "It does **not** change module modes; call `model.eval()` as well.\n\n"
        f"[torch.inference_mode]({DOCS}/generated/torch.autograd.grad_mode.inference_mode.html)"
        f" · {MODES_NOTE}"
    ),
    "set_grad_enabled": (
        "**`torch.set_grad_enabled(mode)`**: turn graph recording on or off; as a context "
        "manager, a decorator or a plain call (which stays in effect until changed). "
        "`set_grad_enabled(False)` is `no_grad()`.\n\n"
        "It does **not** change module modes (`model.eval()` does).\n\n"
        f"[torch.set_grad_enabled]({DOCS}/generated/torch.autograd.grad_mode.set_grad_enabled.html)"
        f" · {MODES_NOTE}"
    ),
    "enable_grad": (
        "**`torch.enable_grad()`**: turn graph recording back on inside a `no_grad()` or "
        "`set_grad_enabled(False)` region (not inside `inference_mode()`), e.g. for a "
        "backward pass during evaluation.\n\n"
        "It does not change module modes.\n\n"
        f"[torch.enable_grad]({DOCS}/generated/torch.autograd.grad_mode.enable_grad.html)"
        f" · {MODES_NOTE}"
    ),
    "training": (
        "**`Module.training`**: the module's mode flag, read by mode-dependent layers. "
        "Assigning it changes only this module, not its submodules (TM006): call "
        "`.train()` / `.eval()` instead.\n\n"
        f"[torch.nn.Module]({DOCS}/generated/torch.nn.Module.html)"
    ),
}

_LAYER_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?:Feature)?Alpha(?:Dropout)|Dropout[123]?d?"),
        "- train mode: zeroes elements at random with probability `p` and scales the rest by "
        "`1/(1-p)`.\n- eval mode: the identity; outputs are deterministic.",
    ),
    (
        re.compile(r"(?:Lazy)?BatchNorm[123]d|SyncBatchNorm"),
        "- train mode: normalises with the current batch's mean and variance and updates "
        "`running_mean`/`running_var`.\n- eval mode: normalises with the running averages and "
        "leaves them unchanged; results do not depend on the rest of the batch.",
    ),
    (
        re.compile(r"(?:Lazy)?InstanceNorm[123]d"),
        "- With `track_running_stats=True`: train mode uses per-instance statistics and updates "
        "running averages; eval mode uses the running averages.\n- With the default "
        "`track_running_stats=False` both modes behave the same.",
    ),
    (
        re.compile(r"RNN|LSTM|GRU"),
        "- With `dropout>0`: train mode applies dropout between stacked layers; eval mode does "
        "not.\n- With `dropout=0` both modes behave the same.",
    ),
)

_WORD = re.compile(r"\w+")
_NOQA = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)", re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


@dataclass(frozen=True)
class HoverInfo:
    markdown: str
    range: Range  # the hovered word, engine positions (UTF-16)


@dataclass(frozen=True)
class _CallEntity:
    """Stand-in occurrence for a forward call the engine reported without an entity."""

    entity: str
    class_name: str | None = None
    class_path: str | None = None
    layers: str | None = None


def layer_doc(name: str) -> str | None:
    """Markdown for a mode-dependent layer class name, else None."""
    for pattern, body in _LAYER_FAMILIES:
        if pattern.fullmatch(name):
            return (
                f"**`nn.{name}`**: behaves differently in train and eval mode.\n\n{body}\n\n"
                f"{_DIFF}\n\n[torch.nn.{name}]({DOCS}/generated/torch.nn.{name}.html)"
            )
    return None


def _word_at(line_text: str, index: int) -> tuple[int, int] | None:
    for match in _WORD.finditer(line_text):
        if match.start() <= index <= match.end() and match.end() > match.start():
            if index == match.end() and index < len(line_text) and _WORD.match(line_text, index):
                continue
            return match.start(), match.end()
    return None


def _noqa_code_at(line_text: str, index: int) -> str | None:
    for match in _NOQA.finditer(line_text):
        if not match.start() <= index <= match.end():
            continue
        codes = list(_CODE.finditer(line_text, match.start("codes"), match.end("codes")))
        for code in codes:
            if code.start() <= index <= code.end():
                return code.group().upper()
        return codes[0].group().upper() if codes else None
    return None


def _utf16_range(line: int, line_text: str, start: int, end: int) -> Range:
    return Range(
        Position(line, utf16_len(line_text[:start])), Position(line, utf16_len(line_text[:end]))
    )


def describe_modes(modes: frozenset[str] | set[str]) -> str:
    labels = {
        ModeKind.TRAIN: "`train`",
        ModeKind.EVAL: "`eval`",
        ModeKind.DYNAMIC: "`dynamic` (set from a run-time flag)",
        ModeKind.UNKNOWN: "`unknown` (loaded or passed in: whatever mode it was saved or given in)",
    }
    ordered = [labels[m] for m in PUBLIC_MODES if m in modes]
    ordered += [f"`{m}`" for m in sorted(modes) if m not in labels]
    if not ordered:
        return "not known"
    if len(ordered) == 1:
        return ordered[0]
    return " or ".join(ordered) + " (depends on the path taken)"


def _line_label(line: int) -> str:
    return f"line {line + 1}"


def entity_markdown(
    occurrence: Any,
    call: ForwardCallFact | None,
    line_label: Callable[[int], str] = _line_label,
) -> str:
    """Markdown for a model entity occurrence (engine ``EntityOccurrence``).

    ``line_label`` names a 0-based line of the analysed text (notebooks: cell and line).
    """
    name = getattr(occurrence, "entity", None) or getattr(occurrence, "name", "model")
    modes = frozenset(getattr(occurrence, "modes", ()) or ())
    set_at = getattr(occurrence, "set_at_line", None)
    if call is not None and not modes:
        modes, set_at = call.modes, call.set_at_line
    parts = [f"**`{name}`**: {describe_modes(modes)} mode here"]
    if set_at is not None:
        parts[0] += f" (set on {line_label(set_at)})"
    elif modes == frozenset({ModeKind.TRAIN}):
        parts[0] += " (modules start in train mode)"
    if call is not None and call.grad_enabled is not None:
        parts.append(
            "Gradients: "
            + ("recorded" if call.grad_enabled else "off (no_grad / inference_mode)")
            + " at this call."
        )
    held = getattr(occurrence, "held_in_eval", ())
    if held:
        parts.append(f"Held in eval here: {'; '.join(held)}. `{name}.train()` would switch "
                     "them back (TM009).")
    layers = getattr(occurrence, "layers", None)
    class_name = getattr(occurrence, "class_name", None)
    class_path = getattr(occurrence, "class_path", None)
    where = ""
    if class_name:
        where = f"`{class_name}`"
        if class_path:
            where += f" in {os.path.basename(class_path)}"
    if layers:
        parts.append(f"Mode-dependent layers: {layers}" + (f" - {where}" if where else ""))
    elif class_name and layers is not None:
        parts.append(f"No mode-dependent layers found in {where}: train and eval compute the same.")
    elif where:
        parts.append(f"Class: {where}")
    return "\n\n".join(parts)


def hover_info(
    line_text: str,
    line: int,
    character: int,
    entities: Sequence[Any] = (),
    forward_calls: Sequence[ForwardCallFact] = (),
    rule_doc: Callable[[str], str] | None = None,
    entity_classes: Mapping[str, Any] | None = None,
    line_label: Callable[[int], str] = _line_label,
) -> HoverInfo | None:
    """Hover for UTF-16 ``character`` on 0-based ``line`` whose text is ``line_text``.

    ``entities`` / ``forward_calls`` are the last analysis's facts (any line; only
    this line's are used). ``rule_doc`` gives a rule's markdown for ``# noqa`` hovers.
    ``entity_classes`` maps an entity name to an occurrence that knows its class and
    layers, for forward calls the engine reported without an occurrence.
    """
    index = codepoint_index(line_text, character)
    noqa = _noqa_hover(line_text, line, index, rule_doc)
    if noqa is not None:
        return noqa
    span = _word_at(line_text, index)
    if span is None:
        return None
    start, end = span
    if "#" in line_text[:start]:
        return None  # a comment (``noqa`` handled above)
    return (_entity_hover(line, character, entities, forward_calls, line_label)
            or _forward_call_hover(line, character, forward_calls, entity_classes or {},
                                   line_label)
            or _word_hover(line_text, line, start, end, entity_classes or {}))


def _noqa_hover(line_text: str, line: int, index: int,
                rule_doc: Callable[[str], str] | None) -> HoverInfo | None:
    """The rule's documentation over a code in a ``# noqa`` comment."""
    code = _noqa_code_at(line_text, index)
    if code is None or rule_doc is None:
        return None
    try:
        doc = rule_doc(code)
    except (KeyError, ValueError, LookupError):
        return None
    if not doc:
        return None
    start = line_text.upper().find(code, line_text.find("#"))
    return HoverInfo(doc, _utf16_range(line, line_text, start, start + len(code)))


def _entity_hover(line: int, character: int, entities: Sequence[Any],
                  forward_calls: Sequence[ForwardCallFact],
                  line_label: Callable[[int], str]) -> HoverInfo | None:
    """A model occurrence the engine recorded under the cursor, with its forward call."""
    for occ in entities:
        occ_range = getattr(occ, "range", None)
        if occ_range is None or not occ_range.start.line <= line <= occ_range.end.line:
            continue
        if occ_range.start <= Position(line, character) <= occ_range.end:
            start = occ_range.start
            call = next((c for c in forward_calls
                         if c.line == start.line and c.character == start.character), None)
            return HoverInfo(entity_markdown(occ, call, line_label), occ_range)
    return None


def _forward_call_hover(line: int, character: int, forward_calls: Sequence[ForwardCallFact],
                        entity_classes: Mapping[str, Any],
                        line_label: Callable[[int], str]) -> HoverInfo | None:
    """A forward call reported without an occurrence; its class comes from
    ``entity_classes``."""
    for call in forward_calls:
        if call.line != line:
            continue
        call_end = call.character + utf16_len(call.entity)
        if call.character <= character <= call_end:
            call_range = Range(Position(line, call.character), Position(line, call_end))
            known = entity_classes.get(call.entity)
            occurrence = _CallEntity(
                call.entity,
                class_name=getattr(known, "class_name", None),
                class_path=getattr(known, "class_path", None),
                layers=getattr(known, "layers", None),
            )
            return HoverInfo(entity_markdown(occurrence, call, line_label), call_range)
    return None


def _word_hover(line_text: str, line: int, start: int, end: int,
                entity_classes: Mapping[str, Any]) -> HoverInfo | None:
    """Documentation of the word ``line_text[start:end]``: a mode or grad keyword, a
    mode-dependent layer or functional, or a model named where no mode was recorded."""
    word = line_text[start:end]
    rng = _utf16_range(line, line_text, start, end)
    before = line_text[:start].rstrip()
    if word in ("eval", "train", "training") and before.endswith("."):
        return HoverInfo(KEYWORD_DOCS[word], rng)
    if word in ("no_grad", "inference_mode", "set_grad_enabled", "enable_grad"):
        return HoverInfo(KEYWORD_DOCS[word], rng)
    doc = layer_doc(word)
    if doc is not None:
        return HoverInfo(doc, rng)
    dotted = _dotted_name(line_text, start, end)
    doc = functional_doc(dotted, line_text[end:].lstrip().startswith("("))
    if doc is not None:
        return HoverInfo(doc, rng)
    known = entity_classes.get(dotted)
    if known is not None:
        # A model named where the engine recorded no mode (e.g. its assignment).
        return HoverInfo(model_markdown(known), rng)
    return None


_FUNCTIONAL_PREFIXES = ("F.", "functional.", "nn.functional.", "torch.nn.functional.")


def functional_doc(dotted: str, called: bool) -> str | None:
    """``F.dropout`` and friends: the default of ``training`` and what it means in eval mode.
    A bare name counts only when called (``dropout(x)`` after a from-import)."""
    from .analysis.functional import MODE_FUNCTIONS

    name = dotted.rsplit(".", 1)[-1]
    prefix = dotted[: len(dotted) - len(name)]
    if prefix in _FUNCTIONAL_PREFIXES or (not prefix and called):
        entry = MODE_FUNCTIONS.get(f"torch.nn.functional.{name}")
    elif prefix == "torch.":
        entry = MODE_FUNCTIONS.get(f"torch.{name}")
    else:
        return None
    if entry is None:
        return None
    return _functional_markdown(entry)


def _functional_markdown(entry: Any) -> str:
    title = f"**`{entry.short}`**: `{entry.keyword}`"
    module, _, name = entry.qualname.rpartition(".")
    link = f"[{entry.qualname}]({DOCS}/generated/{entry.qualname}.html)" \
        if module == "torch.nn.functional" else f"[torch.nn.functional]({DOCS}/nn.functional.html)"
    if entry.default is None:
        return (f"{title} has no default: every call chooses whether it acts as in "
                f"training.\n\n{link}")
    if entry.default:
        what = ("defaults to `True`: it does **not** follow `model.eval()`. In eval mode it "
                "still zeroes elements at random, so outputs differ from run to run.")
    elif name == "batch_norm":
        what = ("defaults to `False`: it does **not** follow `model.train()`. In train mode it "
                "still normalises with the running statistics and never updates them; in eval "
                "mode it does what eval mode should.")
    else:
        what = ("defaults to `False`: it does **not** follow `model.train()`. In eval mode it "
                "is inactive, as it should be, but it is inactive in train mode too.")
    return (f"{title} {what}\n\nInside a module, pass `{entry.keyword}=self.training` "
            f"(TM008), or use the layer module (`nn.Dropout`, `nn.BatchNorm1d`, ...), which "
            f"follows the mode itself.\n\n{link}")


def _dotted_name(line_text: str, start: int, end: int) -> str:
    """``self.net`` for the word ``net`` in ``self.net(x)``."""
    match = re.search(r"[\w.]*$", line_text[:start])
    prefix = match.group() if match else ""
    return (prefix + line_text[start:end]).lstrip(".")


def model_markdown(occurrence: Any) -> str:
    """A model's class and mode-dependent layers, without a mode (no point of use)."""
    name = getattr(occurrence, "entity", "model")
    parts = [f"**`{name}`**: a model (`nn.Module`); its mode depends on the line: hover a call."]
    class_name = getattr(occurrence, "class_name", None)
    class_path = getattr(occurrence, "class_path", None)
    layers = getattr(occurrence, "layers", None)
    if class_name:
        where = f"`{class_name}`" + (f" in {os.path.basename(class_path)}" if class_path else "")
        if layers:
            parts.append(f"Mode-dependent layers: {layers} - {where}")
        elif layers is not None:
            parts.append(f"No mode-dependent layers found in {where}.")
        else:
            parts.append(f"Class: {where}")
    return "\n\n".join(parts)
