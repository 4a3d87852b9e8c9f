"""Conversions between engine values and LSP values.

The engine speaks 0-based lines and UTF-16 columns. The client may have
negotiated UTF-8 or UTF-32 columns instead; conversion needs the line's text, which
comes from the analysed snapshot. ASCII lines (almost all) take the fast path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..findings import Finding, Position, Range
from ..notebook import BrokenCell, cell_message
from ..source import codepoint_index, utf16_len

BOM = "\ufeff"  # see Snapshot.bom

if TYPE_CHECKING:
    from .documents import Snapshot

DOCS_URL = "https://github.com/torchmode/torchmode/blob/main/server/torchmode/docs/{code}.md"
SOURCE = "torchmode"
UTF8 = types.PositionEncodingKind.Utf8.value
UTF16 = types.PositionEncodingKind.Utf16.value
UTF32 = types.PositionEncodingKind.Utf32.value
_TAGS = {
    "unnecessary": types.DiagnosticTag.Unnecessary,
    "deprecated": types.DiagnosticTag.Deprecated,
}


def rule_doc_url(code: str) -> str:
    return DOCS_URL.format(code=code)


@dataclass(frozen=True)
class Encoding:
    """Column conversion for the negotiated position encoding."""

    name: str = UTF16

    def to_client(self, line_text: str, utf16_col: int) -> int:
        if self.name == UTF16 or line_text.isascii():
            return utf16_col
        index = codepoint_index(line_text, utf16_col)
        if self.name == UTF32:
            return index
        return len(line_text[:index].encode("utf-8"))

    def from_client(self, line_text: str, col: int) -> int:
        if self.name == UTF16 or line_text.isascii():
            return col
        if self.name == UTF32:
            return utf16_len(line_text[:col])
        prefix = line_text.encode("utf-8")[:col].decode("utf-8", errors="ignore")
        return utf16_len(prefix)


@dataclass(frozen=True)
class DiagnosticSupport:
    """Which optional diagnostic fields the client understands."""

    related_information: bool = True
    tags: frozenset[int] = frozenset({1, 2})
    code_description: bool = True
    data: bool = True

    @classmethod
    def from_capabilities(cls, caps: types.ClientCapabilities | None) -> DiagnosticSupport:
        publish = caps.text_document.publish_diagnostics if caps and caps.text_document else None
        if publish is None:
            return cls()
        tag_support = publish.tag_support
        return cls(
            related_information=bool(publish.related_information),
            tags=frozenset(int(t) for t in tag_support.value_set) if tag_support else frozenset(),
            code_description=bool(publish.code_description_support),
            data=bool(publish.data_support),
        )


def client_position(snap: Snapshot, pos: Position, enc: Encoding) -> tuple[str, types.Position]:
    """The document URI and client position of an engine position in ``snap``."""
    uri, line, _ = snap.locate(pos.line)
    if snap.bom and pos.line == 0:
        char = enc.to_client(BOM + snap.source.line_text(0), pos.character + 1)
    else:
        char = enc.to_client(snap.source.line_text(pos.line), pos.character)
    return uri, types.Position(line=line, character=char)


def client_range(snap: Snapshot, rng: Range, enc: Encoding) -> tuple[str, types.Range]:
    uri, start = client_position(snap, rng.start, enc)
    end_uri, end = client_position(snap, rng.end, enc)
    if end_uri != uri:  # a range that runs into the next cell: clip to the end of its cell
        last = _last_line_of_cell(snap, rng.start.line)
        _, end = client_position(snap, Position(last, utf16_len(snap.source.line_text(last))), enc)
    return uri, types.Range(start=start, end=end)


def _last_line_of_cell(snap: Snapshot, joined_line: int) -> int:
    slot = snap.slot_of_line(joined_line)
    if slot is None or slot + 1 >= len(snap.start_lines):
        return max(len(snap.source.lines) - 1, 0)
    return snap.start_lines[slot + 1] - 1


def engine_position(
    snap: Snapshot, uri: str, pos: types.Position, enc: Encoding
) -> Position | None:
    """Engine position (joined text, UTF-16) of a client position in document ``uri``."""
    line = snap.joined_line(uri, pos.line)
    if line is None:
        return None
    if snap.bom and line == 0:
        char = enc.from_client(BOM + snap.source.line_text(0), pos.character)
        return Position(0, max(char - 1, 0))
    return Position(line, enc.from_client(snap.source.line_text(line), pos.character))


def engine_range(snap: Snapshot, uri: str, rng: types.Range, enc: Encoding) -> Range | None:
    start = engine_position(snap, uri, rng.start, enc)
    end = engine_position(snap, uri, rng.end, enc)
    if start is None or end is None:
        return None
    return Range(start, end)


def _user_lines(snap: Snapshot, message: str) -> str:
    """Notebook messages name lines by cell, as the user sees them."""
    if not snap.cells:
        return message
    return cell_message(message, [cell.index for cell in snap.cells], snap.start_lines)


def to_diagnostic(
    finding: Finding, snap: Snapshot, enc: Encoding, support: DiagnosticSupport
) -> tuple[str, types.Diagnostic]:
    """A finding as an LSP diagnostic, with the URI of the document it belongs to."""
    uri, rng = client_range(snap, finding.range, enc)
    message = _user_lines(snap, finding.message)
    related = None
    if support.related_information and finding.related:
        related = []
        for rel in finding.related:
            if rel.path is not None:
                from pygls.uris import from_fs_path

                rel_uri = from_fs_path(rel.path) or rel.path
                rel_range = types.Range(
                    start=types.Position(rel.range.start.line, rel.range.start.character),
                    end=types.Position(rel.range.end.line, rel.range.end.character),
                )
            else:
                rel_uri, rel_range = client_range(snap, rel.range, enc)
            related.append(
                types.DiagnosticRelatedInformation(
                    location=types.Location(uri=rel_uri, range=rel_range),
                    message=_user_lines(snap, rel.message),
                )
            )
    tags = [_TAGS[t] for t in finding.tags if t in _TAGS and int(_TAGS[t]) in support.tags]
    data: dict[str, Any] | None = None
    if support.data:
        data = {"finding": finding.to_dict(), "version": snap.version}
    return uri, types.Diagnostic(
        range=rng,
        message=message,
        severity=types.DiagnosticSeverity(int(finding.severity)),
        code=finding.code,
        code_description=(
            types.CodeDescription(href=rule_doc_url(finding.code))
            if support.code_description
            else None
        ),
        source=SOURCE,
        related_information=related,
        tags=tags or None,
        data=data,
    )


def diagnostics_by_uri(
    findings: list[Finding], snap: Snapshot, enc: Encoding, support: DiagnosticSupport
) -> dict[str, list[types.Diagnostic]]:
    """Diagnostics grouped per document; every document of ``snap`` gets a list."""
    out: dict[str, list[types.Diagnostic]] = {uri: [] for uri in snap.uris()}
    for finding in findings:
        uri, diagnostic = to_diagnostic(finding, snap, enc, support)
        out.setdefault(uri, []).append(diagnostic)
    for broken in snap.broken:
        note = broken_cell_diagnostic(broken, snap)
        if note is not None:
            out.setdefault(note[0], []).append(note[1])
    return out


def broken_cell_diagnostic(
    broken: BrokenCell, snap: Snapshot
) -> tuple[str, types.Diagnostic] | None:
    """What the CLI prints as "cell N ... not analysed", shown on the cell's error line:
    information, not an error (the syntax error itself is the Python extension's to
    report), without code or data (no fix, nothing to ignore)."""
    cell = next((c for c in snap.cells if c.index == broken.cell), None)
    if cell is None:
        return None
    line = types.Position(line=broken.line, character=0)
    message = (
        f"torchmode did not analyse this cell: syntax error at line {broken.line + 1}, "
        f"column {broken.column + 1} ({broken.message}). The other cells are analysed as "
        "if this cell were empty."
    )
    return cell.uri, types.Diagnostic(
        range=types.Range(start=line, end=types.Position(line=broken.line + 1, character=0)),
        message=message,
        severity=types.DiagnosticSeverity.Information,
        source=SOURCE,
    )


def finding_from_data(data: Any) -> Finding | None:
    """The finding a diagnostic was made from (``Diagnostic.data``), if it carries one."""
    if not isinstance(data, dict) or not isinstance(data.get("finding"), dict):
        return None
    try:
        return Finding.from_dict(data["finding"])
    except (KeyError, TypeError, ValueError):
        return None


def to_text_edits(
    snap: Snapshot, edits: list[Any], enc: Encoding
) -> dict[str, list[types.TextEdit]] | None:
    """Engine ``TextEdit``s (joined text) as LSP edits per document URI.

    An edit that ends at the start of the next notebook cell ends at the end of its own
    cell. Returns ``None`` when an edit really spans two cells: it cannot be expressed
    per cell and the fix is not offered.
    """
    out: dict[str, list[types.TextEdit]] = {}
    for edit in edits:
        new_text = edit.new_text
        uri, start = client_position(snap, edit.range.start, enc)
        end_uri, end = client_position(snap, edit.range.end, enc)
        if end_uri != uri:
            clipped = _clip_to_cell(snap, edit, enc)
            if clipped is None:
                return None
            end, new_text = clipped
        out.setdefault(uri, []).append(
            types.TextEdit(range=types.Range(start=start, end=end), new_text=new_text)
        )
    return out


def _clip_to_cell(snap: Snapshot, edit: Any, enc: Encoding) -> tuple[types.Position, str] | None:
    """End and text of an edit running up to column 0 of the next cell, or None."""
    start_slot = snap.slot_of_line(edit.range.start.line)
    end_line = edit.range.end.line
    if (
        start_slot is None
        or edit.range.end.character != 0
        or start_slot + 1 >= len(snap.start_lines)
        or snap.start_lines[start_slot + 1] != end_line
    ):
        return None
    cell_lines = end_line - snap.start_lines[start_slot]
    if snap.cells[start_slot].ends_newline:
        return types.Position(line=cell_lines, character=0), edit.new_text
    # The joined text added the cell's last line break: stop before it.
    last = end_line - 1
    last_text = snap.source.line_text(last)
    end = types.Position(
        line=cell_lines - 1, character=enc.to_client(last_text, utf16_len(last_text))
    )
    text = edit.new_text[:-1] if edit.new_text.endswith("\n") else edit.new_text
    return end, text
