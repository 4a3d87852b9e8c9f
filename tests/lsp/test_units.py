"""Unit tests of the server's pure parts: settings, positions, notebook mapping, hover text,
deferred fix verification. (Everything else is tested through the real server.)"""

from __future__ import annotations

from lsprotocol import types
from torchmode.analyzer import analyze
from torchmode.findings import Position, Range, Severity
from torchmode.fixes import offered_fixes
from torchmode.hover import hover_info
from torchmode.lsp.actions import ActionRequest, FixVerifier, fixes_for
from torchmode.lsp.convert import Encoding, client_range, engine_position, to_text_edits
from torchmode.lsp.documents import notebook_snapshot, text_snapshot
from torchmode.lsp.scheduler import Analysis
from torchmode.lsp.settings import (
    FILESYSTEM_FIRST,
    LspSettings,
    engine_settings,
    parse_settings,
)
from torchmode.settings import DEFAULT_SETTINGS, Settings

from .sources import TRAIN_EVAL


def test_settings_nested_flat_and_invalid_values() -> None:
    parsed = parse_settings(
        {
            "torchmode": {
                "fixAll": {"unsafe": True},
                "debounceMs": 50,
                "codeAction.disableRuleComment.enable": False,
                "severity": {"TM002": "hint"},
                "select": "TM001,TM00",
            }
        }
    )
    assert parsed.fix_all_unsafe and parsed.debounce_ms == 50 and not parsed.disable_rule_comment
    assert parsed.severity == (("TM002", Severity.HINT),) and parsed.select == ("TM001", "TM00")
    assert parsed.problems == ()
    bad = parse_settings(
        {
            "debounceMs": -3,
            "enable": "no",
            "severity": {"TM999": "hint"},
            "configurationPreference": "sometimes",
            "hover": {"enable": True},
        }
    )
    assert bad.debounce_ms == 200 and bad.enable is True and bad.hover_enable is True
    assert len(bad.problems) == 4
    assert parse_settings("nonsense").problems == ("settings must be an object",)


def test_engine_settings_editor_first_and_filesystem_first() -> None:
    project = Settings(ignore=("TM001",))
    editor = LspSettings(select=("TM002",), severity=(("TM002", Severity.HINT),))
    merged = engine_settings(editor, project)
    assert merged.select == ("TM002",) and merged.ignore == ("TM001",)
    assert merged.severity == {"TM002": Severity.HINT}
    fs_first = LspSettings(select=("TM002",), configuration_preference=FILESYSTEM_FIRST)
    assert engine_settings(fs_first, project) is project
    assert engine_settings(fs_first, None).select == ("TM002",)
    assert engine_settings(LspSettings(), None) == DEFAULT_SETTINGS


def test_position_encodings_round_trip() -> None:
    line = "名 = '😀'; out = model(x)"
    utf16 = len(line[: line.index("model")].encode("utf-16-le")) // 2
    for name, expected in (
        ("utf-16", utf16),
        ("utf-32", line.index("model")),
        ("utf-8", len(line[: line.index("model")].encode())),
    ):
        enc = Encoding(name)
        assert enc.to_client(line, utf16) == expected
        assert enc.from_client(line, expected) == utf16


def test_notebook_positions_and_edits_map_to_cells() -> None:
    snap = notebook_snapshot(
        "nb", 3, "/x/nb.ipynb", [(0, "c0", 1, "%time a = 1\nb = 2"), (2, "c2", 5, "model.eval\n")]
    )
    assert snap.text == "#time a = 1\nb = 2\nmodel.eval\n"
    assert snap.locate(2) == ("c2", 0, 5)
    uri, rng = client_range(snap, Range.of(2, 0, 2, 10), Encoding())
    assert uri == "c2" and rng.start == types.Position(0, 0)
    assert engine_position(snap, "c2", types.Position(0, 3), Encoding()) == Position(2, 3)
    assert engine_position(snap, "other", types.Position(0, 3), Encoding()) is None

    class Edit:
        def __init__(self, rng: Range, text: str) -> None:
            self.range, self.new_text = rng, text

    # An edit that ends at column 0 of the next cell ends with its own cell...
    edits = to_text_edits(snap, [Edit(Range.of(1, 0, 2, 0), "b = 3\n")], Encoding())
    assert edits is not None
    (edit,) = edits["c0"]
    # ... and cell 0 had no final line break, so none is added.
    assert (edit.range.end.line, edit.range.end.character, edit.new_text) == (1, 5, "b = 3")
    assert to_text_edits(snap, [Edit(Range.of(0, 2, 2, 3), "x")], Encoding()) is None


def test_hover_texts() -> None:
    assert hover_info("x = nn.Linear(3, 4)", 0, 8) is None
    info = hover_info("    net.train()", 0, 9)
    assert info is not None and "Module.train" in info.markdown
    assert info.range == Range.of(0, 8, 0, 13)
    info = hover_info("y = f(x)  # noqa: TM001, TM004", 0, 27, rule_doc=lambda c: f"doc {c}")
    assert info is not None and info.markdown == "doc TM004"
    assert hover_info("# calling no_grad here", 0, 12) is None  # a comment


def test_large_files_get_fixes_once_verified_in_the_background() -> None:
    """Nothing unverified is offered: on a large file the first request queues the
    check and lists no fix; a later request for the same version lists what passed."""
    big = TRAIN_EVAL + "# padding\n" * 2500
    snap = text_snapshot("file:///t.py", 1, big, "/t.py")
    result = analyze(big, "/t.py")
    tm001 = next(f for f in result.findings if f.code == "TM001")
    slow = Analysis(snap, result, DEFAULT_SETTINGS, seconds=5.0)  # pretend: a slow file
    later: list[object] = []
    verifier = FixVerifier()
    req = ActionRequest(
        uri=snap.key,
        snapshot=snap,
        analysis=slow,
        settings=DEFAULT_SETTINGS,
        lsp_settings=LspSettings(),
        encoding=Encoding(),
        diagnostics=[],
        only=None,
        verifier=verifier,
        verify_later=lambda s, f: later.append(f),
    )
    assert fixes_for(req, tm001) == [] and later == [tm001]
    assert fixes_for(req, tm001) == [] and later == [tm001]  # claimed once, not again
    # The background check found the fix wanting: it is not offered.
    verifier.put(snap, tm001, [])
    assert fixes_for(req, tm001) == []
    # It passed: offered from then on.
    verifier.put(snap, tm001, offered_fixes(big, "/t.py", tm001))
    assert [fix.title for fix in fixes_for(req, tm001)] == [
        "Insert model.eval() before the loop",
        "Insert model.eval() and wrap the loop in torch.no_grad()"]
    fast = ActionRequest(
        **{
            **req.__dict__,
            "analysis": Analysis(snap, result, DEFAULT_SETTINGS, seconds=0.001),
            "verifier": FixVerifier(),
        }
    )
    assert [fix.kinds for fix in fixes_for(fast, tm001)] == [
        ("insert-eval",), ("insert-eval", "wrap-no-grad")]


def test_workspace_configuration_merges_over_initialization_options() -> None:
    from torchmode.lsp.settings import merge

    merged = merge(
        {"settings": {"debounceMs": 0, "fixAll": {"unsafe": True}}},
        {"torchmode": {"codeAction": {"disableRuleComment": {"enable": False}}}},
    )
    parsed = parse_settings(merged)
    assert parsed.debounce_ms == 0 and parsed.fix_all_unsafe and not parsed.disable_rule_comment
    assert merge({"a": 1}, None) == {"a": 1}


def test_cell_magic_cells_are_left_out_but_keep_their_lines() -> None:
    snap = notebook_snapshot(
        "nb",
        1,
        "/x/nb.ipynb",
        [(0, "c0", 1, "%%bash\necho hi\nls -l"), (1, "c1", 1, "model.eval\n")],
    )
    assert snap.text == "\n\n\nmodel.eval\n"
    assert snap.locate(3) == ("c1", 0, 1)


def test_hover_on_a_model_name_without_a_recorded_mode() -> None:
    class Occurrence:
        entity = "self.net"
        class_name = "Net"
        class_path = "/p/models.py"
        layers = "Dropout(p=0.5) x2, BatchNorm2d x1"

    info = hover_info("        self.net = Net()", 0, 14, entity_classes={"self.net": Occurrence()})
    assert info is not None
    assert "Dropout(p=0.5) x2, BatchNorm2d x1 - `Net` in models.py" in info.markdown
    assert hover_info("        self.other = Net()", 0, 14, entity_classes={}) is None
