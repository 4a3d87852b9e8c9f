"""Diagnostics: content, ranges, versions, debounce, syntax errors, close, pull mode."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from .conftest import Starter, vscode_capabilities
from .sources import CLEAN, TRAIN_EVAL

DOC_URL = "https://github.com/torchmode/torchmode/blob/main/server/torchmode/docs/{}.md"


def summary(diagnostics: list[types.Diagnostic]) -> list[tuple[str, tuple[int, int, int, int]]]:
    return [
        (
            str(d.code),
            (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character),
        )
        for d in diagnostics
    ]


EXPECTED = [
    ("TM002", (23, 0, 23, 22)),  # the evaluation loop's header: no no_grad around it
    ("TM001", (24, 10, 24, 18)),  # out = model(x): first forward call in the val loop
]


async def test_open_publishes_exact_diagnostics(start: Starter) -> None:
    session = await start()
    uri = session.open("train.py", TRAIN_EVAL)
    diagnostics = await session.diagnostics(uri, version=1)
    assert summary(diagnostics) == EXPECTED
    tm001 = next(d for d in diagnostics if d.code == "TM001")
    assert tm001.source == "torchmode"
    assert tm001.severity == types.DiagnosticSeverity.Warning
    assert tm001.code_description is not None
    assert tm001.code_description.href == DOC_URL.format("TM001")
    assert "model" in tm001.message
    assert isinstance(tm001.data, dict) and tm001.data["finding"]["code"] == "TM001"
    assert all(d.source == "torchmode" for d in diagnostics)


async def test_clean_file_has_no_diagnostics_and_change_updates(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 50})
    uri = session.open("train.py", CLEAN)
    assert await session.diagnostics(uri, version=1) == []
    version = session.change(uri, TRAIN_EVAL)
    diagnostics = await session.diagnostics(uri, version=version)
    assert "TM001" in {d.code for d in diagnostics}
    version = session.change(uri, CLEAN)
    assert await session.diagnostics(uri, version=version) == []


async def test_rapid_edits_publish_once_for_the_final_version(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 200})
    uri = session.open("train.py", CLEAN)
    await session.diagnostics(uri, version=1)
    before = len(session.publishes_for(uri))
    text = CLEAN
    for n in range(100):
        text = text + f"value_{n} = {n}\n"
        session.change(uri, text)
    final = session.versions[uri]
    await session.diagnostics(uri, version=final, after=before)
    await session.quiet(0.8)
    published = session.publishes_for(uri)[before:]
    assert [p.version for p in published] == [final]


async def test_syntax_error_keeps_last_good_diagnostics(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    good = await session.diagnostics(uri, version=1)
    assert good
    before = len(session.publishes_for(uri))
    broken = TRAIN_EVAL.replace("out = model(x)", "out = model(x")
    session.change(uri, broken)
    await session.quiet(0.8)
    assert session.publishes_for(uri)[before:] == []  # nothing replaces the good diagnostics
    assert list(session.client.diagnostics[uri]) == good
    version = session.change(uri, CLEAN)
    assert await session.diagnostics(uri, version=version) == []


async def test_close_clears_diagnostics(start: Starter) -> None:
    session = await start()
    uri = session.open("train.py", TRAIN_EVAL)
    assert await session.diagnostics(uri, version=1)
    before = len(session.publishes_for(uri))
    session.close(uri)
    cleared = await session.diagnostics(uri, after=before)
    assert cleared == []


async def test_utf16_ranges_with_emoji_and_cjk(start: Starter) -> None:
    # An emoji (2 UTF-16 units) and CJK text before the call, on the same and earlier lines.
    text = TRAIN_EVAL.replace(
        "for x, y in val_loader:\n", "# 验证 😀 loop\nfor x, y in val_loader:\n"
    )
    text = text.replace("    out = model(x)\n", "    名 = '😀😀'; out = model(x)\n")
    session = await start()
    uri = session.open("train.py", text)
    diagnostics = await session.diagnostics(uri, version=1)
    tm001 = next(d for d in diagnostics if d.code == "TM001")
    line = text.splitlines()[tm001.range.start.line]
    prefix = line[: line.index("model(x)")]
    utf16 = len(prefix.encode("utf-16-le")) // 2
    assert (tm001.range.start.character, tm001.range.end.character) == (utf16, utf16 + 8)
    assert utf16 == len(prefix) + 2  # two emoji: two extra code units


async def test_utf8_position_encoding_when_client_prefers_it(start: Starter) -> None:
    text = TRAIN_EVAL.replace("    out = model(x)\n", "    名 = '😀'; out = model(x)\n")
    session = await start(capabilities=vscode_capabilities(encodings=["utf-8", "utf-16"]))
    uri = session.open("train.py", text)
    diagnostics = await session.diagnostics(uri, version=1)
    tm001 = next(d for d in diagnostics if d.code == "TM001")
    line = text.splitlines()[tm001.range.start.line]
    prefix = line[: line.index("model(x)")]
    assert tm001.range.start.character == len(prefix.encode("utf-8"))
    hover = await session.hover(uri, tm001.range.start.line, tm001.range.start.character + 1)
    assert hover is not None and "model" in hover.contents.value  # type: ignore[union-attr]


async def test_pull_diagnostics_when_the_client_supports_them(start: Starter) -> None:
    session = await start(capabilities=vscode_capabilities(pull=True))
    uri = session.open("train.py", TRAIN_EVAL)
    report = await session.client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    assert "TM001" in {d.code for d in report.items}
    again = await session.client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id
        )
    )
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
    session.change(uri, CLEAN)
    fresh = await session.client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id
        )
    )
    assert isinstance(fresh, types.RelatedFullDocumentDiagnosticReport) and list(fresh.items) == []
    await asyncio.sleep(0.3)
    assert session.publishes_for(uri) == []  # pull mode: nothing pushed
