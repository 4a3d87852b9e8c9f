"""Code actions: quick fixes, "ignore this line", fix all.

What to fix was decided at analysis time and travels in ``Diagnostic.data`` (the
finding with its ``FixSpec``s); the text edits are made here, when the editor asks,
by ``torchmode.fixes`` (libcst on the enclosing statement only). Edits are versioned
``TextDocumentEdit``s: the editor refuses them once the text has changed. Runs on a
worker thread; no analysis logic lives here.

Verification (the fixed text parses, the finding is gone, nothing new appears, every
rule on, the same cross-file facts) costs one analysis per fix. It runs inline when the
last analysis of the document says it fits the code-action budget; on large files it
runs on a background thread and later requests for the same version offer what passed.
Nothing unverified is ever offered: what the menu shows is what would be applied.

A fix may edit other files of the workspace too (``model.train()`` after the call of
a helper defined elsewhere): its ``WorkspaceEdit`` then holds one versioned edit per
document, the other document's version being its open version (or none when it is
not open, its text on disk was used).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..findings import Finding
from ..settings import Settings
from .convert import SOURCE, Encoding, engine_range, finding_from_data, to_text_edits
from .documents import Snapshot, text_snapshot
from .scheduler import Analysis
from .settings import LspSettings

if TYPE_CHECKING:
    from .dispatch import Tools
    from .session import DocumentSnapshot

FIX_ALL_KIND = "source.fixAll.torchmode"
NOTEBOOK_FIX_ALL_KIND = "notebook.source.fixAll.torchmode"
QUICKFIX = types.CodeActionKind.QuickFix.value
FIX_ALL_TITLE = "Fix all torchmode issues"
FIX_ALL_COMMAND = "torchmode.fixAll"
# Verify inline when (fixes + 1) analyses fit in this: the request runs on a worker
# thread (the event loop keeps answering), and a fix offered later is a fix the user
# may not see, so the budget is a noticeable delay rather than a keystroke's.
VERIFY_BUDGET_S = 0.5
INLINE_VERIFY_LINES = 2000  # below this, always verify inline

# Above this, a document gets diagnostics but no fixes: building and verifying fixes
# re-analyses the whole text once per fix.
FIX_MAX_CHARS = 1_000_000

VerifiedFixes = list[Any]  # torchmode.fixes.Fix (imported late: libcst)


class FixVerifier:
    """Verified fixes per (document, version, finding); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[tuple[Any, ...], VerifiedFixes] = {}
        self._pending: set[tuple[Any, ...]] = set()

    @staticmethod
    def key(snap: Snapshot, finding: Finding) -> tuple[Any, ...]:
        return (snap.key, snap.version, finding)

    def get(self, snap: Snapshot, finding: Finding) -> VerifiedFixes | None:
        with self._lock:
            return self._done.get(self.key(snap, finding))

    def put(self, snap: Snapshot, finding: Finding, fixes: VerifiedFixes) -> None:
        with self._lock:
            key = self.key(snap, finding)
            self._pending.discard(key)
            stale = [k for k in self._done if k[0] == snap.key and k[1] != snap.version]
            for old in stale:
                del self._done[old]
            self._done[key] = fixes

    def claim(self, snap: Snapshot, finding: Finding) -> bool:
        """True if nobody is verifying this finding yet (the caller will)."""
        with self._lock:
            key = self.key(snap, finding)
            if key in self._pending or key in self._done:
                return False
            self._pending.add(key)
            return True

    def release(self, snap: Snapshot, finding: Finding) -> None:
        with self._lock:
            self._pending.discard(self.key(snap, finding))

    def verify(
        self, snap: Snapshot, finding: Finding, compute: Callable[[], VerifiedFixes]
    ) -> VerifiedFixes:
        """Run ``compute`` (the engine's ``offered_fixes``) and remember its answer."""
        try:
            fixes = compute()
        except Exception:
            self.release(snap, finding)
            raise
        self.put(snap, finding, fixes)
        return fixes


@dataclass(frozen=True)
class ActionRequest:
    """Everything one code action request needs, gathered on the event loop."""

    uri: str
    snapshot: Snapshot  # the document's current text
    analysis: Analysis | None  # the last good analysis (findings when data is missing)
    settings: Settings
    lsp_settings: LspSettings
    encoding: Encoding
    diagnostics: Sequence[types.Diagnostic]
    only: Sequence[str] | None
    document_changes: bool = True  # client supports versioned documentChanges
    resolve_edits: bool = False  # client resolves ``edit`` lazily
    engine: Any = None  # torchmode.lsp.engine: where fixes are verified (None: here)
    verifier: FixVerifier | None = None
    # Called with a finding whose fixes do not fit the budget (verify in the background).
    verify_later: Callable[[Snapshot, Finding], None] | None = None
    # The open document at a URI (None: not open), for fixes that edit other files.
    open_snapshot: Callable[[str], Snapshot | None] | None = None


def action_request(
    snap: DocumentSnapshot, tools: Tools, diagnostics: Any = (), only: Any = None
) -> ActionRequest:
    """What a code action, its resolution or fix-all needs, from a document snapshot."""
    client = snap.client
    settings = snap.engine_settings
    return ActionRequest(
        uri=snap.uri,
        snapshot=snap.document,
        analysis=snap.analysis,
        settings=settings,
        lsp_settings=snap.settings,
        encoding=client.encoding,
        diagnostics=list(diagnostics or []),
        only=[str(getattr(k, "value", k)) for k in only] if only is not None else None,
        document_changes=client.document_changes,
        resolve_edits=client.resolve_edits,
        engine=tools.engine,
        verifier=tools.verifier,
        verify_later=lambda document, finding: tools.verify_later(document, finding, settings),
        open_snapshot=tools.open_document,
    )


def fixes_off(snap: DocumentSnapshot, tools: Tools) -> bool:
    """True (and said once) when the document is too large for fixes."""
    size = len(snap.document.text)
    if size <= FIX_MAX_CHARS:
        return False
    from .session import file_name

    tools.tell_once(
        snap.key, "fixes off", f"torchmode: fixes are off for {file_name(snap.key)}: "
        f"{size / 1e6:.1f} MB is over the {FIX_MAX_CHARS / 1e6:g} MB limit"
    )
    return True


def kind_requested(kind: str, only: Sequence[str] | None) -> bool:
    """LSP rule: ``only`` entries are prefixes of the kinds they select."""
    if only is None:
        return True
    return any(kind == o or kind.startswith(o + ".") or o == "" for o in only)


def action_title(finding: Finding, title: str) -> str:
    return f"torchmode ({finding.code} {finding.name}): {title}"


def workspace_edit(
    snap: Snapshot,
    edits: list[Any],
    encoding: Encoding,
    document_changes: bool,
    others: Sequence[tuple[Snapshot, list[Any]]] = (),
) -> types.WorkspaceEdit | None:
    """Engine edits as a workspace edit, one versioned edit per document (cell); ``others``
    are edits to other documents, each with the snapshot they were made for."""
    per_uri = to_text_edits(snap, edits, encoding)
    if per_uri is None:
        return None
    versions = {snap.key: snap.version, **{c.uri: c.version for c in snap.cells}}
    for other, other_edits in others:
        converted = to_text_edits(other, other_edits, encoding)
        if converted is None:
            return None
        per_uri.update(converted)
        versions[other.key] = other.version
    if not document_changes:
        return types.WorkspaceEdit(changes=per_uri)
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=versions.get(uri)
                ),
                edits=list(text_edits),
            )
            for uri, text_edits in per_uri.items()
        ]
    )


def _finding_of(req: ActionRequest, diagnostic: types.Diagnostic) -> Finding | None:
    """The finding behind ``diagnostic``, valid for the document's current text.

    ``Diagnostic.data`` carries the finding and the version it was computed for. If
    the text changed since, its lines may be stale: the finding is looked up by code
    and range in an analysis of the current version instead, and without one (still
    being analysed) nothing is offered: the next diagnostics are on their way.
    """
    finding = finding_from_data(diagnostic.data)
    data_version = diagnostic.data.get("version") if isinstance(diagnostic.data, dict) else None
    current = req.snapshot.version
    if finding is not None and data_version == current:
        return finding
    analysis = req.analysis
    if analysis is None or analysis.version != current:
        return None
    wanted = engine_range(analysis.snapshot, req.uri, diagnostic.range, req.encoding)
    for candidate in analysis.result.findings:
        if candidate.code == diagnostic.code and candidate.range == wanted:
            return candidate
    return None


def quick_fixes(req: ActionRequest) -> list[types.CodeAction]:
    """The fixes and "ignore this line" of each torchmode diagnostic in the request."""
    from ..fixes import noqa_edit

    actions: list[types.CodeAction] = []
    snap = req.snapshot
    for diagnostic in req.diagnostics:
        if diagnostic.source != SOURCE:
            continue
        finding = _finding_of(req, diagnostic)
        if finding is None:
            continue
        for fix in fixes_for(req, finding):
            others = other_documents(req, fix.other_files)
            if others is None:
                continue  # another document changed since the fix was made
            edit = workspace_edit(snap, list(fix.edits), req.encoding, req.document_changes,
                                  others)
            if edit is None:
                continue
            actions.append(
                types.CodeAction(
                    title=action_title(finding, fix.title),
                    kind=QUICKFIX,
                    diagnostics=[diagnostic],
                    is_preferred=fix.preferred or None,
                    edit=edit,
                )
            )
        if req.lsp_settings.disable_rule_comment:
            edit = workspace_edit(
                snap, [noqa_edit(snap.text, finding)], req.encoding, req.document_changes
            )
            if edit is not None:
                actions.append(
                    types.CodeAction(
                        title=action_title(finding, "Ignore this line"),
                        kind=QUICKFIX,
                        diagnostics=[diagnostic],
                        edit=edit,
                    )
                )
    return actions


def other_documents(
    req: ActionRequest, files: Sequence[Any]
) -> list[tuple[Snapshot, list[Any]]] | None:
    """Snapshots for a fix's edits to other files (``torchmode.fixes.FileEdits``): the
    open document when it is open (its text must be the one the edits were made for,
    else None), else the file as it was read, with no version."""
    from pygls.uris import from_fs_path

    out = []
    for edited in files:
        uri = from_fs_path(edited.path) or edited.path
        snap = req.open_snapshot(uri) if req.open_snapshot is not None else None
        if snap is None:
            snap = text_snapshot(uri, None, edited.text, edited.path)
        elif snap.text != edited.text:
            return None
        out.append((snap, list(edited.edits)))
    return out


def fixes_for(req: ActionRequest, finding: Finding) -> VerifiedFixes:
    """The fixes to offer for ``finding``, all verified; see the module doc."""
    if not finding.fixes:
        return []
    verifier = req.verifier
    if verifier is not None:
        cached = verifier.get(req.snapshot, finding)
        if cached is not None:
            return cached
    seconds = req.analysis.seconds if req.analysis is not None else 0.0
    if verifier is None:
        return offered(req.engine, req.snapshot, finding, req.settings)
    if _small(req.snapshot) or seconds * (len(finding.fixes) + 1) <= VERIFY_BUDGET_S:
        return verifier.verify(
            req.snapshot, finding, lambda: offered(req.engine, req.snapshot, finding, req.settings)
        )
    if req.verify_later is not None and verifier.claim(req.snapshot, finding):
        req.verify_later(req.snapshot, finding)
    return []  # offered once verified: a later request for this version lists them


def _small(snap: Snapshot) -> bool:
    """Verified inline whatever the last analysis took (a busy machine must not make the
    fixes of a small file arrive only with a later request)."""
    return snap.text.count("\n") < INLINE_VERIFY_LINES


def offered(engine: Any, snap: Snapshot, finding: Finding, settings: Settings) -> VerifiedFixes:
    """Verified fixes of ``finding`` from ``engine`` (None: in this thread, no index)."""
    if engine is not None:
        fixes: VerifiedFixes = engine.offered_fixes(snap.text, snap.path, finding, settings)
        return fixes
    from ..fixes import offered_fixes

    return offered_fixes(snap.text, snap.path, finding, settings)


def fix_all_edit(
    snap: Snapshot,
    settings: Settings,
    *,
    unsafe: bool,
    encoding: Encoding,
    document_changes: bool,
    engine: Any = None,
) -> tuple[types.WorkspaceEdit | None, Any]:
    """Edit that applies every (safe, or also unsafe) fix; ``None`` when nothing to do."""
    from pygls.uris import from_fs_path

    if engine is not None:
        outcome = engine.fix_all(snap.text, snap.path, settings, unsafe)
    else:
        from ..fixes import fix_all

        outcome = fix_all(snap.text, snap.path, settings, unsafe=unsafe)
    if not outcome.edits:
        return None, outcome
    others = [(text_snapshot(from_fs_path(c.path) or c.path, None, c.old_text, c.path), c.edits)
              for c in outcome.other_files]
    return workspace_edit(snap, list(outcome.edits), encoding, document_changes, others), outcome


def fix_all_action(
    req: ActionRequest, kind: str, *, unsafe: bool, title: str
) -> types.CodeAction | None:
    data = {
        "fixAll": req.snapshot.key,
        "uri": req.uri,
        "unsafe": unsafe,
        "version": req.snapshot.version,
        "kind": kind,
    }
    if req.resolve_edits:
        return types.CodeAction(title=title, kind=kind, data=data)
    edit, _ = fix_all_edit(
        req.snapshot,
        req.settings,
        unsafe=unsafe,
        encoding=req.encoding,
        document_changes=req.document_changes,
        engine=req.engine,
    )
    if edit is None:
        return None
    return types.CodeAction(title=title, kind=kind, edit=edit, data=data)


def code_actions(req: ActionRequest) -> list[types.CodeAction]:
    """All actions for one ``textDocument/codeAction`` request."""
    actions: list[types.CodeAction] = []
    in_notebook = bool(req.snapshot.cells)
    if kind_requested(QUICKFIX, req.only) and req.diagnostics:
        actions.extend(quick_fixes(req))
        if any(d.source == SOURCE for d in req.diagnostics) and _has_fixes(req):
            # A command: the edits are made only if the user picks it.
            unsafe = req.lsp_settings.fix_all_unsafe
            actions.append(
                types.CodeAction(
                    title=FIX_ALL_TITLE,
                    kind=QUICKFIX,
                    command=types.Command(
                        title=FIX_ALL_TITLE,
                        command=FIX_ALL_COMMAND,
                        arguments=[{"uri": req.uri, "unsafe": unsafe}],
                    ),
                )
            )
    if req.only is not None:  # source actions only when asked for (fix on save, source menu)
        if in_notebook:
            # Per-cell ``source.fixAll`` is ignored: every cell would repeat the notebook's edits.
            if kind_requested(NOTEBOOK_FIX_ALL_KIND, req.only):
                action = fix_all_action(
                    req,
                    NOTEBOOK_FIX_ALL_KIND,
                    unsafe=False,
                    title="torchmode: Fix all safe issues in the notebook",
                )
                if action is not None:
                    actions.append(action)
        elif kind_requested(FIX_ALL_KIND, req.only):
            action = fix_all_action(
                req, FIX_ALL_KIND, unsafe=False, title="torchmode: Fix all safe issues"
            )
            if action is not None:
                actions.append(action)
    return actions


def _has_fixes(req: ActionRequest) -> bool:
    """More than one finding with a fix the command would apply."""
    if req.analysis is None:
        return False
    unsafe = req.lsp_settings.fix_all_unsafe
    fixable = [
        f for f in req.analysis.result.findings if any(spec.safe or unsafe for spec in f.fixes)
    ]
    return len(fixable) > 1


def resolve(action: types.CodeAction, req: ActionRequest) -> types.CodeAction:
    """Fill in the edit of a fix-all action listed without one."""
    data = action.data if isinstance(action.data, dict) else {}
    edit, _ = fix_all_edit(
        req.snapshot,
        req.settings,
        unsafe=bool(data.get("unsafe")),
        encoding=req.encoding,
        document_changes=req.document_changes,
        engine=req.engine,
    )
    action.edit = edit or types.WorkspaceEdit(changes={})
    return action
