"""``textDocument/diagnostic`` (pull diagnostics): answered once the current version
has been analysed, with a result id that stays the same while the findings do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..convert import diagnostics_by_uri

if TYPE_CHECKING:
    from ..server import TorchmodeServer

METHOD = types.TEXT_DOCUMENT_DIAGNOSTIC
OPTIONS = types.DiagnosticOptions(
    identifier="torchmode", inter_file_dependencies=True, workspace_diagnostics=False
)
EMPTY = types.RelatedFullDocumentDiagnosticReport(items=[])


async def handle(
    ls: TorchmodeServer, params: types.DocumentDiagnosticParams
) -> types.DocumentDiagnosticReport:
    session = ls.session
    uri = params.text_document.uri
    key = session.key_of(uri)
    if key not in session.tracked or session.document(key) is None:
        return EMPTY
    if not session.lsp_settings(key).enable:
        return EMPTY
    if ls.scheduler.state(key) is None:
        ls.schedule(key, now=True)
    analysis = await ls.scheduler.settled(key)
    if analysis is None:
        return EMPTY
    client = session.client
    findings = analysis.result.findings
    grouped = diagnostics_by_uri(findings, analysis.snapshot, client.encoding, client.support)
    # Content-based: a re-analysis with the same findings keeps the same id.
    digest = hash((uri, tuple(findings), client.encoding.name))
    result_id = f"{analysis.snapshot.version}:{digest & 0xFFFFFFFFFFFF:x}"
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.RelatedFullDocumentDiagnosticReport(
        items=grouped.get(uri, []), result_id=result_id
    )
