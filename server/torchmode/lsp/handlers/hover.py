"""``textDocument/hover``: the mode of a model or forward call, from the last good
analysis (never analyses: hovers stay fast while typing). Runs on the event loop
with a snapshot: it must not wait behind an analysis on the executor."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from ..convert import client_range, engine_position
from ..dispatch import SNAPSHOT_ON_LOOP, Tools
from ..documents import Snapshot
from ..session import DocumentSnapshot

METHOD = types.TEXT_DOCUMENT_HOVER
RUNS = SNAPSHOT_ON_LOOP
NOT_OPEN = None


def document_uri(params: types.HoverParams) -> str:
    return params.text_document.uri


def handle(snap: DocumentSnapshot, params: types.HoverParams, tools: Tools) -> types.Hover | None:
    from ...hover import hover_info

    if not snap.settings.hover_enable:
        return None
    current = snap.document
    encoding = snap.client.encoding
    pos = engine_position(current, snap.uri, params.position, encoding)
    if pos is None:
        return None
    analysis = snap.analysis
    entities: list[Any] = []
    calls: list[Any] = []
    known: dict[str, Any] = {}
    if analysis is not None and line_unchanged(analysis.snapshot, current, pos.line):
        entities = analysis.entities_by_line.get(pos.line, [])
        calls = analysis.calls_by_line.get(pos.line, [])
        known = analysis.entities_by_name
    info = hover_info(
        current.source.line_text(pos.line),
        pos.line,
        pos.character,
        entities,
        calls,
        rule_doc=_rule_doc,
        entity_classes=known,
        line_label=lambda line: line_label(current, line),
    )
    if info is None:
        return None
    _, rng = client_range(current, info.range, encoding)
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=info.markdown), range=rng
    )


def line_label(snap: Snapshot, line: int) -> str:
    """A line of the analysed text as the user sees it (notebooks: which cell)."""
    if not snap.cells:
        return f"line {line + 1}"
    slot = snap.slot_of_line(line) or 0
    return f"line {line - snap.start_lines[slot] + 1} of cell {snap.cells[slot].index + 1}"


def line_unchanged(old: Snapshot, new: Snapshot, line: int) -> bool:
    """The analysis is usable for this line: same version, or same text at that line."""
    if old.version == new.version and old.text is new.text:
        return True
    return old.source.line_text(line) == new.source.line_text(line) and (
        len(old.source.lines) == len(new.source.lines)
    )


def _rule_doc(code: str) -> str:
    from ...rule_docs import rule_doc

    return rule_doc(code)
