"""``textDocument/inlayHint``: the mode at each forward call (off by default), from
the analysis of the current version only."""

from __future__ import annotations

from lsprotocol import types

from ...findings import ForwardCallFact
from ...findings import Position as EnginePosition
from ..convert import client_position
from ..dispatch import SNAPSHOT_ON_LOOP, Tools
from ..documents import Snapshot
from ..session import DocumentSnapshot
from .hover import line_label

METHOD = types.TEXT_DOCUMENT_INLAY_HINT
RUNS = SNAPSHOT_ON_LOOP
NOT_OPEN = None


def document_uri(params: types.InlayHintParams) -> str:
    return params.text_document.uri


def handle(
    snap: DocumentSnapshot, params: types.InlayHintParams, tools: Tools
) -> list[types.InlayHint] | None:
    if not snap.settings.inlay_hints_enable:
        return None
    analysis = snap.analysis
    if analysis is None or analysis.snapshot.version != snap.document.version:
        return []
    rng = params.range
    hints = []
    for call in analysis.result.forward_calls:
        call_uri, line, _ = analysis.snapshot.locate(call.line)
        if call_uri == snap.uri and rng.start.line <= line <= rng.end.line:
            hints.append(hint(analysis.snapshot, call, snap))
    return hints


def hint(analysed: Snapshot, call: ForwardCallFact, snap: DocumentSnapshot) -> types.InlayHint:
    from ...analysis.model import PUBLIC_MODES
    from ...hover import describe_modes

    modes = [m for m in PUBLIC_MODES if m in call.modes]
    label = "|".join(modes) or "?"
    if call.grad_enabled is False:
        label += ", no grad"
    _, position = client_position(
        analysed, EnginePosition(call.line, call.character), snap.client.encoding
    )
    tooltip = f"{call.entity}: {describe_modes(call.modes)} mode here"
    if call.set_at_line is not None:
        tooltip += f" (set on {line_label(analysed, call.set_at_line)})"
    return types.InlayHint(position=position, label=label + ":", padding_right=True,
                           tooltip=tooltip)
