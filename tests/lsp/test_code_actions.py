"""Code actions: quick fixes applied end to end, ignore-this-line, fix all, stale edits."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixes.complete_sources import ISSUE_EXAMPLE, TRAIN, UTILS
from lsprotocol import types

from .conftest import Session, Starter, apply_workspace_edit
from .sources import BARE_EVAL, TRAIN_EVAL
from .test_workspace import codes_eventually

INSERT_EVAL_TEXT = TRAIN_EVAL.replace(
    "for x, y in val_loader:\n", "model.eval()\nfor x, y in val_loader:\n"
)
WRAP_NO_GRAD_TEXT = TRAIN_EVAL.replace(
    "for x, y in val_loader:\n    out = model(x)\n",
    "with torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)\n",
)


def fix_titles(actions: list[types.CodeAction]) -> list[str]:
    return [a.title for a in actions]


async def apply_and_reanalyse(
    session: Session, uri: str, action: types.CodeAction
) -> tuple[str, list[types.Diagnostic]]:
    assert action.edit is not None
    new_text = apply_workspace_edit(session, action.edit)[uri]
    version = session.change(uri, new_text)
    return new_text, await session.diagnostics(uri, version=version)


async def test_quick_fix_titles_preferred_and_versioned_edits(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    diagnostics = await session.diagnostics(uri, version=1)
    tm001 = next(d for d in diagnostics if d.code == "TM001")
    actions = await session.code_actions(uri, [tm001])
    titles = fix_titles(actions)
    assert "torchmode (TM001 missing-eval): Insert model.eval() before the loop" in titles
    assert "torchmode (TM001 missing-eval): Ignore this line" in titles
    insert = next(a for a in actions if a.title.endswith("Insert model.eval() before the loop"))
    assert insert.kind == types.CodeActionKind.QuickFix
    assert insert.is_preferred is True
    assert insert.diagnostics and insert.diagnostics[0].code == "TM001"
    assert insert.edit is not None and insert.edit.document_changes
    change = insert.edit.document_changes[0]
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.version == 1 and change.text_document.uri == uri


async def test_insert_eval_fix_end_to_end(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    tm001 = next(d for d in await session.diagnostics(uri, version=1) if d.code == "TM001")
    actions = await session.code_actions(uri, [tm001], only=["quickfix"])
    insert = next(a for a in actions if a.title.endswith("Insert model.eval() before the loop"))
    new_text, diagnostics = await apply_and_reanalyse(session, uri, insert)
    assert new_text == INSERT_EVAL_TEXT
    assert "TM001" not in {d.code for d in diagnostics}


async def test_every_offered_fix_clears_its_diagnostic(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    diagnostics = await session.diagnostics(uri, version=1)
    assert diagnostics
    for diagnostic in diagnostics:
        actions = await session.code_actions(uri, [diagnostic], only=["quickfix"])
        fixes = [a for a in actions if a.diagnostics and not a.title.endswith("Ignore this line")]
        for action in fixes:
            # Start from the original text each time.
            version = session.change(uri, TRAIN_EVAL)
            fresh = await session.diagnostics(uri, version=version)
            same = next(
                d for d in fresh if d.code == diagnostic.code and d.range == diagnostic.range
            )
            again = await session.code_actions(uri, [same], only=["quickfix"])
            action = next(a for a in again if a.title == action.title)
            new_text, after = await apply_and_reanalyse(session, uri, action)
            assert new_text != TRAIN_EVAL
            compile(new_text, "train.py", "exec")
            before = sum(1 for d in fresh if d.code == diagnostic.code)
            assert sum(1 for d in after if d.code == diagnostic.code) < before, action.title


async def test_ignore_this_line_adds_noqa(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    tm001 = next(d for d in await session.diagnostics(uri, version=1) if d.code == "TM001")
    actions = await session.code_actions(uri, [tm001])
    ignore = next(
        a for a in actions if a.title == "torchmode (TM001 missing-eval): Ignore this line"
    )
    new_text, diagnostics = await apply_and_reanalyse(session, uri, ignore)
    assert new_text == TRAIN_EVAL.replace("out = model(x)\n", "out = model(x)  # noqa: TM001\n")
    assert "TM001" not in {d.code for d in diagnostics}


async def test_ignore_action_follows_the_setting(start: Starter) -> None:
    session = await start(init_options={"codeAction": {"disableRuleComment": {"enable": False}}})
    uri = session.open("train.py", TRAIN_EVAL)
    tm001 = next(d for d in await session.diagnostics(uri, version=1) if d.code == "TM001")
    actions = await session.code_actions(uri, [tm001])
    assert actions and not any(a.title.endswith("Ignore this line") for a in actions)


async def test_stale_edit_is_refused(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    tm001 = next(d for d in await session.diagnostics(uri, version=1) if d.code == "TM001")
    actions = await session.code_actions(uri, [tm001])
    insert = next(a for a in actions if a.title.endswith("before the loop"))
    session.change(uri, "# a line added above everything\n" + TRAIN_EVAL)
    assert insert.edit is not None
    with pytest.raises(ValueError, match="stale edit"):
        apply_workspace_edit(session, insert.edit)


async def test_source_fix_all_applies_safe_fixes_only(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("bare.py", BARE_EVAL)
    diagnostics = await session.diagnostics(uri, version=1)
    assert "TM004" in {d.code for d in diagnostics}
    actions = await session.code_actions(uri, [], only=["source.fixAll"])
    assert [a.kind for a in actions] == ["source.fixAll.torchmode"]
    action = actions[0]
    if action.edit is None:  # VS Code resolves the edit lazily
        action = await session.client.code_action_resolve_async(action)
    new_text, after = await apply_and_reanalyse(session, uri, action)
    assert new_text == BARE_EVAL.replace("model.eval\n", "model.eval()\n")
    assert "TM004" not in {d.code for d in after}

    # A file with only unsafe fixes gets no source.fixAll edit.
    uri2 = session.open("train.py", TRAIN_EVAL)
    await session.diagnostics(uri2, version=1)
    actions = await session.code_actions(uri2, [], only=["source.fixAll.torchmode"])
    for action in actions:
        if action.edit is None:
            action = await session.client.code_action_resolve_async(action)
        assert (
            action.edit is None
            or not apply_workspace_edit(session, action.edit)
            or apply_workspace_edit(session, action.edit)[uri2] == TRAIN_EVAL
        )


async def test_fix_all_command_includes_unsafe_fixes(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    await session.diagnostics(uri, version=1)
    result = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="torchmode.fixAll", arguments=[uri])
    )
    assert result["applied"] is True and result["fixed"] >= 1
    assert len(session.applied_edits) == 1
    new_text = apply_workspace_edit(session, session.applied_edits[0])[uri]
    version = session.change(uri, new_text)
    after = await session.diagnostics(uri, version=version)
    assert "TM001" not in {d.code for d in after}
    compile(new_text, "train.py", "exec")


async def test_wrap_in_no_grad_fix_end_to_end(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", TRAIN_EVAL)
    tm002 = next(d for d in await session.diagnostics(uri, version=1) if d.code == "TM002")
    actions = await session.code_actions(uri, [tm002], only=["quickfix"])
    titles = fix_titles(actions)
    assert titles[:2] == [
        "torchmode (TM002 missing-no-grad): Wrap the loop in with torch.no_grad():",
        "torchmode (TM002 missing-no-grad): Wrap the loop in with torch.inference_mode():",
    ]
    assert [a.is_preferred for a in actions[:2]] == [True, None]
    new_text, diagnostics = await apply_and_reanalyse(session, uri, actions[0])
    assert new_text == WRAP_NO_GRAD_TEXT
    assert "TM002" not in {d.code for d in diagnostics}


async def test_fix_all_quick_fix_runs_the_command(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0, "fixAll": {"unsafe": True}})
    uri = session.open("train.py", TRAIN_EVAL)
    diagnostics = await session.diagnostics(uri, version=1)
    actions = await session.code_actions(uri, diagnostics[:1], only=["quickfix"])
    fix_all = next(a for a in actions if a.title == "Fix all torchmode issues")
    assert fix_all.edit is None and fix_all.command is not None
    assert fix_all.command.command == "torchmode.fixAll"
    assert list(fix_all.command.arguments or []) == [{"uri": uri, "unsafe": True}]
    result = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=fix_all.command.command, arguments=fix_all.command.arguments
        )
    )
    assert result["applied"] is True and result["fixed"] == 2 and result["remaining"] == 0
    new_text = apply_workspace_edit(session, session.applied_edits[-1])[uri]
    version = session.change(uri, new_text)
    assert await session.diagnostics(uri, version=version) == []
    assert new_text == WRAP_NO_GRAD_TEXT.replace(
        "with torch.no_grad():\n", "model.eval()\nwith torch.no_grad():\n"
    )


async def test_diagnostic_from_an_older_version_is_matched_in_the_current_text(
    start: Starter,
) -> None:
    session = await start(init_options={"debounceMs": 300})
    uri = session.open("train.py", TRAIN_EVAL)
    tm001 = next(d for d in await session.diagnostics(uri, version=1) if d.code == "TM001")
    version = session.change(uri, "# a new first line\n" + TRAIN_EVAL)
    # Asked before the new version is analysed: the old data cannot be trusted.
    assert await session.code_actions(uri, [tm001]) == []
    await session.diagnostics(uri, version=version)
    # The editor moved the old diagnostic down a line with the text: found again.
    moved = types.Diagnostic(
        range=types.Range(
            start=types.Position(tm001.range.start.line + 1, tm001.range.start.character),
            end=types.Position(tm001.range.end.line + 1, tm001.range.end.character),
        ),
        message=tm001.message,
        code=tm001.code,
        source=tm001.source,
        data=tm001.data,
    )
    actions = await session.code_actions(uri, [moved], only=["quickfix"])
    insert = next(a for a in actions if a.title.endswith("Insert model.eval() before the loop"))
    new_text = apply_workspace_edit(session, insert.edit)[uri]  # type: ignore[arg-type]
    assert new_text == "# a new first line\n" + INSERT_EVAL_TEXT



async def test_complete_fix_edits_both_documents_with_their_versions(
    start: Starter, tmp_path: Path
) -> None:
    """The helper's ``model.eval()`` (utils.py) and ``model.train()`` after its call
    (train.py): one quick fix, one versioned edit per document; applied, neither file
    has a diagnostic left (no TM003 in train.py)."""
    (tmp_path / "utils.py").write_text(UTILS)
    (tmp_path / "train.py").write_text(TRAIN)
    session = await start(init_options={"debounceMs": 0})
    train = session.open("train.py", TRAIN, write=False)
    await session.diagnostics(train, version=1)
    session.change(train, TRAIN)  # version 2: the edit must carry it
    await session.diagnostics(train, version=2)
    utils = session.open("utils.py", UTILS, write=False)
    found = await codes_eventually(session, utils, True, "TM001")
    tm001 = next(d for d in found if d.code == "TM001")
    actions = await session.code_actions(utils, [tm001], only=["quickfix"])
    titles = fix_titles(actions)
    complete = ("torchmode (TM001 missing-eval): Insert model.eval() at the start of "
                "evaluate() and model.train() at line 14 of train.py")
    assert titles[0] == complete, titles
    assert actions[0].is_preferred is True
    edit = actions[0].edit
    assert edit is not None and edit.document_changes is not None
    versions = {c.text_document.uri: c.text_document.version for c in edit.document_changes
                if isinstance(c, types.TextDocumentEdit)}
    assert versions == {utils: 1, train: 2}
    texts = apply_workspace_edit(session, edit)
    assert texts[utils] == UTILS.replace("    correct = 0\n", "    model.eval()\n    correct = 0\n")
    assert texts[train] == TRAIN + "    model.train()\n"
    session.change(train, texts[train])
    assert await session.diagnostics(train, version=3) == []
    session.change(utils, texts[utils])
    assert await session.diagnostics(utils, version=2) == []



async def test_issue_example_one_click_leaves_no_diagnostic(start: Starter) -> None:
    """The evaluate(model) helper called after the inner training loop: the menu offers
    more than "Ignore this line"; the preferred fix, applied, leaves no diagnostic."""
    session = await start(init_options={"debounceMs": 0})
    uri = session.open("train.py", ISSUE_EXAMPLE)
    tm001 = next(d for d in await session.diagnostics(uri, version=1) if d.code == "TM001")
    actions = await session.code_actions(uri, [tm001], only=["quickfix"])
    preferred = [a for a in actions if a.is_preferred]
    assert [a.title for a in preferred] == [
        "torchmode (TM001 missing-eval): Insert model.eval() at the start of evaluate() and "
        "model.train() at line 33"]
    new_text, diagnostics = await apply_and_reanalyse(session, uri, preferred[0])
    assert new_text == ISSUE_EXAMPLE.replace(
        "    correct = 0\n", "    model.eval()\n    correct = 0\n") + "        model.train()\n"
    assert diagnostics == []
