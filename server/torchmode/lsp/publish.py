"""From a finished analysis to what the editor shows, by its outcome.

- ``Ok`` and ``Partial``: the findings are published.
- ``ParseError`` (the user is typing): nothing changes; the last good diagnostics stay
  on screen, without a syntax error of ours on top of the editor's own.
- ``InternalError`` (an engine bug): logged with its traceback and shown with
  ``window/showMessage`` once per document version; the findings the other rules
  made are published (a failing rule costs its own findings only). A file nested too
  deeply to analyse (by the parser or the analysis) is neither: its diagnostics are
  cleared and the user is told once.

Runs on the event loop (the scheduler delivers there).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from ..findings import InternalError
from .convert import diagnostics_by_uri
from .documents import Snapshot
from .scheduler import Analysis
from .session import file_name

if TYPE_CHECKING:
    from .server import TorchmodeServer

log = logging.getLogger("torchmode.lsp")


def deliver(ls: TorchmodeServer, analysis: Analysis) -> None:
    """A current analysis finished: publish (push mode) what its outcome allows."""
    outcome = analysis.result.outcome
    snap = analysis.snapshot
    if too_deep(analysis.result.syntax_error):  # the CLI reports it; so do we
        clear(ls, snap.uris())
        ls.notify_once(
            snap.key, "too deep", f"torchmode: {file_name(snap.key)} is nested too "
            "deeply to analyse; it has no torchmode diagnostics"
        )
        return
    if isinstance(outcome, InternalError):
        report_internal_error(ls, snap, outcome)
    if not analysis.parsed:
        return  # keep the last good diagnostics: no flicker, no syntax error of ours
    if any(getattr(e, "class_path", None) is None for e in analysis.result.entities or ()):
        from .background import resolve_imports

        resolve_imports(ls, snap)  # a model whose class the engine could not find
    if not ls.session.client.pull_diagnostics:
        publish(ls, analysis)


def too_deep(syntax_error: str | None) -> bool:
    """The parser or the analysis gave up on nesting (a limit, not a bug, nor a syntax
    error the user is typing)."""
    text = (syntax_error or "").lower()
    return "too deep" in text or "recursion" in text or "too many nested" in text


def report_internal_error(ls: TorchmodeServer, snap: Snapshot, outcome: InternalError) -> None:
    """Log the traceback and show the error, once per document version."""
    if not ls.session.first_time_in_version(snap.key, "internal error", snap.version):
        return
    log.error(
        "internal error in %s while analysing %s (version %s): %s\n%s",
        outcome.where, snap.key, snap.version, outcome.exception, outcome.traceback,
    )
    message = (
        f"torchmode: internal error in {outcome.where} while analysing "
        f"{file_name(snap.key)}: {outcome.exception}. Its findings are missing; the "
        "server log has the traceback (please report it)."
    )
    detail = f"{message}\n{outcome.traceback}" if outcome.traceback else message
    ls.log_message(detail, types.MessageType.Error)
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))


def publish(ls: TorchmodeServer, analysis: Analysis) -> None:
    """Push diagnostics per document; an unchanged set for the same version is not resent."""
    session = ls.session
    snap = analysis.snapshot
    enabled = session.lsp_settings(snap.key).enable
    findings = analysis.result.findings if enabled else []
    client = session.client
    grouped = diagnostics_by_uri(findings, snap, client.encoding, client.support)
    for uri, diagnostics in grouped.items():
        version = snap.version
        if snap.cells:
            version = next((c.version for c in snap.cells if c.uri == uri), None)
        if session.published.get(uri) == (version, diagnostics):
            continue
        session.published[uri] = (version, diagnostics)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )


def clear(ls: TorchmodeServer, uris: list[str]) -> None:
    """Publish no diagnostics for these documents (push mode)."""
    for uri in uris:
        ls.session.published.pop(uri, None)
        if not ls.session.client.pull_diagnostics:
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )
