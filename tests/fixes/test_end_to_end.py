"""analyze -> offered_fixes / fix_all -> exact text, with the real engine."""

from __future__ import annotations

import pytest
from torchmode.analyzer import analyze
from torchmode.findings import FixKind
from torchmode.fixes import TextEdit, apply_edits, fix_all, noqa_edit, offered_fixes
from torchmode.fixes import verify as verify_module
from torchmode.settings import DEFAULT_SETTINGS

from fixes.helpers import src

PATH = "script.py"
MODEL = "model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))\n"


def only(text: str, code: str, path: str = PATH):
    found = [f for f in analyze(text, path).findings if f.code == code]
    assert len(found) == 1, found
    return found[0]


def offered_texts(text: str, code: str, path: str = PATH) -> dict[str, str]:
    finding = only(text, code, path)
    return {spec.kind: apply_edits(text, edits)
            for fix in offered_fixes(text, path, finding, DEFAULT_SETTINGS)
            for spec, edits in [(fix.spec, list(fix.edits))] if len(fix.kinds) == 1}


def test_tm001_insert_eval_above_the_comment_of_the_with_block() -> None:
    text = ("import torch\nimport torch.nn as nn\n\n" + MODEL +
            "val_loader = [torch.randn(2, 4)]\n\n# validation\nwith torch.no_grad():\n"
            "    for x in val_loader:\n        print(model(x))\n")
    assert offered_texts(text, "TM001") == {FixKind.INSERT_EVAL: text.replace(
        "# validation\n", "model.eval()\n# validation\n")}


def test_tm002_spelling_import_torch_as_th() -> None:
    text = ("import torch as th\nimport torch.nn as nn\n\n" + MODEL +
            "val_loader = [th.randn(2, 4)]\n\nmodel.eval()\nfor x in val_loader:\n"
            "    print(model(x))\n")
    loop = "for x in val_loader:\n    print(model(x))\n"
    assert offered_texts(text, "TM002") == {
        FixKind.WRAP_NO_GRAD: text.replace(
            loop, "with th.no_grad():\n    for x in val_loader:\n        print(model(x))\n"),
        FixKind.WRAP_INFERENCE_MODE: text.replace(
            loop, "with th.inference_mode():\n    for x in val_loader:\n        print(model(x))\n"),
    }


def test_tm002_spelling_from_torch_import_no_grad_and_decorator() -> None:
    text = src('''
        from torch import nn, no_grad, randn

        model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))


        def evaluate(model, loader):
            """Mean output."""
            model.eval()
            outs = [model(x) for x in loader]
            return outs
    ''')
    texts = offered_texts(text, "TM002")
    assert texts[FixKind.WRAP_NO_GRAD] == text.replace(
        "    outs = [model(x) for x in loader]\n",
        "    with no_grad():\n        outs = [model(x) for x in loader]\n")
    assert texts[FixKind.DECORATE_NO_GRAD] == text.replace(
        "def evaluate", "@no_grad()\ndef evaluate")
    # inference_mode is not imported by name: `import torch` is added after the imports.
    assert texts[FixKind.WRAP_INFERENCE_MODE] == text.replace(
        "randn\n", "randn\nimport torch\n").replace(
        "    outs = [model(x) for x in loader]\n",
        "    with torch.inference_mode():\n        outs = [model(x) for x in loader]\n")


def test_tm002_nothing_imported_adds_import_torch_after_docstring_and_imports() -> None:
    text = src('''
        """Validation without any torch import in this file."""
        from models import Net

        model = Net()
        model.load_state_dict(state)
        model.eval()
        for x in val_loader:
            print(model(x))
    ''')
    assert offered_texts(text, "TM002")[FixKind.WRAP_NO_GRAD] == src('''
        """Validation without any torch import in this file."""
        from models import Net
        import torch

        model = Net()
        model.load_state_dict(state)
        model.eval()
        with torch.no_grad():
            for x in val_loader:
                print(model(x))
    ''')


def test_fix_all_two_models_one_loop_one_with_two_evals() -> None:
    text = src('''
        import torch
        import torch.nn as nn

        encoder = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
        decoder = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
        val_loader = [torch.randn(2, 4)]

        for x in val_loader:
            print(decoder(encoder(x)))
    ''')
    result = fix_all(text, PATH, DEFAULT_SETTINGS, unsafe=True)
    assert result.text == src('''
        import torch
        import torch.nn as nn

        encoder = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
        decoder = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
        val_loader = [torch.randn(2, 4)]

        decoder.eval()
        encoder.eval()
        with torch.no_grad():
            for x in val_loader:
                print(decoder(encoder(x)))
    ''')
    assert sorted(f.code for f in result.fixed) == ["TM001", "TM001", "TM002"]
    assert result.remaining == []
    assert apply_edits(text, result.edits) == result.text
    again = fix_all(result.text, PATH, DEFAULT_SETTINGS, unsafe=True)
    assert again.text == result.text and again.edits == [] and again.fixed == []


def test_tm003_insert_train_at_the_top_of_the_epoch() -> None:
    text = src('''
        import torch
        import torch.nn as nn

        model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        train_loader = [torch.randn(2, 4)]
        val_loader = [torch.randn(2, 4)]

        for epoch in range(3):
            for x in train_loader:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                for x in val_loader:
                    model(x)
    ''')
    assert offered_texts(text, "TM003") == {FixKind.INSERT_TRAIN: text.replace(
        "for epoch in range(3):\n", "for epoch in range(3):\n    model.train()\n")}


def test_tm003_training_function_left_in_eval_by_its_helper_gets_train_at_its_start() -> None:
    """``train_iter(model, ...)`` ends with an evaluation helper; the caller's loop calls it
    again with ``net``: ``model.train()`` goes where training starts inside the function
    (the caller has no ``model`` to call it on)."""
    text = src('''
        import torch
        import torch.nn as nn


        def test(model, loader):
            model.eval()
            with torch.no_grad():
                for x in loader:
                    model(x)


        def train_iter(model, optimizer, loader):
            # one pass over the data
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()
            test(model, loader)


        net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        for epoch in range(3):
            train_iter(net, opt, [torch.randn(2, 4)])
    ''')
    finding = only(text, "TM003")
    assert [f.title for f in finding.fixes] == [
        "Insert model.train() where training starts in train_iter()"]
    assert offered_texts(text, "TM003") == {FixKind.INSERT_TRAIN: text.replace(
        "    # one pass over the data\n", "    model.train()\n    # one pass over the data\n")}
    result = fix_all(text, PATH, DEFAULT_SETTINGS, unsafe=True)
    assert result.remaining == [] and [f.code for f in result.fixed] == ["TM003"]


TM004_006 = ("import torch\nimport torch.nn as nn\n\n" + MODEL +
             "val_loader = [torch.randn(2, 4)]\n\nmodel.eval\nwith torch.no_grad:\n"
             "    for x in val_loader:\n        model(x)\nmodel.training = False\n"
             "with torch.no_grad():\n    for x in val_loader:\n        model(x)\n")


def test_fix_all_safe_only_adds_parens() -> None:
    result = fix_all(TM004_006, PATH, DEFAULT_SETTINGS, unsafe=False)
    assert result.text == TM004_006.replace("model.eval\n", "model.eval()\n").replace(
        "with torch.no_grad:", "with torch.no_grad():")
    assert [f.code for f in result.remaining] == ["TM006"]


def test_fix_all_unsafe_also_replaces_the_flag() -> None:
    result = fix_all(TM004_006, PATH, DEFAULT_SETTINGS, unsafe=True)
    assert result.text == TM004_006.replace("model.eval\n", "model.eval()\n").replace(
        "with torch.no_grad:", "with torch.no_grad():").replace(
        "model.training = False\n", "model.eval()\n")
    assert result.remaining == []


def test_tm007_insert_eval_before_trace_crlf() -> None:
    text = ("import torch\r\nimport torch.nn as nn\r\n\r\n" + MODEL.replace("\n", "\r\n") +
            "example = torch.randn(1, 4)\r\ntraced = torch.jit.trace(model, example)")
    assert offered_texts(text, "TM007") == {FixKind.INSERT_EVAL: text.replace(
        "traced =", "model.eval()\r\ntraced =")}


def test_noqa_edit_silences_on_reanalysis() -> None:
    text = ("import torch\nimport torch.nn as nn\n\n" + MODEL +
            "val_loader = [torch.randn(2, 4)]\n\nmodel.eval()\nfor x in val_loader:  # noqa: E501\n"
            "    print(model(x))\n")
    finding = only(text, "TM002")
    fixed = apply_edits(text, [noqa_edit(text, finding)])
    assert "for x in val_loader:  # noqa: E501, TM002\n" in fixed
    assert not [f for f in analyze(fixed, PATH).findings if f.code == "TM002"]


# -- the guarantees are enforced in code --------------------------------------------------------


LOOP = ("import torch\nimport torch.nn as nn\n\n" + MODEL +
        "val_loader = [torch.randn(2, 4)]\n\nmodel.eval()\nfor x in val_loader:\n"
        "    print(model(x))\n")


def _with_builder(monkeypatch: pytest.MonkeyPatch, make) -> list[str]:
    monkeypatch.setattr(verify_module, "edits_for_fix", lambda text, spec: make(text))
    finding = only(LOOP, "TM002")
    kept = [fix.kind for fix in offered_fixes(LOOP, PATH, finding, DEFAULT_SETTINGS)]
    result = fix_all(LOOP, PATH, DEFAULT_SETTINGS, unsafe=True)
    assert result.text == LOOP  # fix_all applies nothing either
    return kept


def test_fix_that_does_not_parse_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str) -> list[TextEdit]:
        return [TextEdit.insert(8, 0, "with torch.no_grad(:\n")]
    assert _with_builder(monkeypatch, broken) == []


def test_fix_that_leaves_the_finding_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    def useless(text: str) -> list[TextEdit]:
        return [TextEdit.insert(7, 0, "x = 1\n")]
    assert _with_builder(monkeypatch, useless) == []


def test_fix_that_adds_a_finding_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    def noisy(text: str) -> list[TextEdit]:
        # Fixes TM002 but writes a flag assignment (TM006).
        return [TextEdit.insert(7, 0, "model.training = False\n"),
                TextEdit.insert(7, 0, "with torch.no_grad():\n"),
                TextEdit.insert(7, 0, "    "), TextEdit.insert(8, 0, "    ")]
    after = analyze(apply_edits(LOOP, noisy(LOOP)), PATH)
    assert after.syntax_error is None
    assert [f.code for f in after.findings] == ["TM006"]  # the case this test is about
    assert _with_builder(monkeypatch, noisy) == []


def test_fix_is_not_offered_twice() -> None:
    finding = only(LOOP, "TM002")
    first, *_ = offered_fixes(LOOP, PATH, finding, DEFAULT_SETTINGS)
    edits = list(first.edits)
    fixed = apply_edits(LOOP, edits)
    assert not [f for f in analyze(fixed, PATH).findings if f.code == "TM002"]
    assert fix_all(fixed, PATH, DEFAULT_SETTINGS, unsafe=True).text == fixed


def test_later_round_findings_are_reported_at_original_positions() -> None:
    from torchmode.fixes.verify import _located_in

    original = "for x in val_loader:\n    y = model(x)\n"
    later = "with torch.no_grad():\n    for x in val_loader:\n        y = model(x)\n"
    from fixes.helpers import finding

    moved = _located_in(finding("TM001", 2, 12, 2, 20), later, original)
    assert (moved.range.start.line, moved.range.start.character) == (1, 8)
    assert (moved.range.end.line, moved.range.end.character) == (1, 16)


def test_fix_all_nested_regions_and_inserts_inside_a_wrap(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a stand-in analyzer that asks for an outer and an inner wrap and an insert
    inside the outer region: one round wraps the outer loop only (the inner wrap
    overlaps it, the insert would miss the re-indentation); the next round, analysed
    again, inserts eval() at the inner loop's new place; a third run changes nothing."""
    from torchmode.findings import AnalysisResult, Finding, FixSpec, Range, Severity

    def fake(text: str, path: str, settings: object, project: object) -> AnalysisResult:
        lines = text.splitlines()
        inner = next(i for i, line in enumerate(lines) if "for x in val_loader" in line)
        found = []
        if "no_grad" not in text:
            for first, label in ((0, "outer"), (inner, "inner")):
                spec = FixSpec(kind=FixKind.WRAP_NO_GRAD, title=label, safe=False,
                               target_line=first, target_end_line=inner + 1,
                               code="torch.no_grad()", preferred=True)
                found.append(Finding("TM002", "missing-no-grad", f"{label} loop", Severity.WARNING,
                                     Range.of(first, 0, first, 3), fixes=(spec,)))
        if "model.eval()" not in text:
            spec = FixSpec(kind=FixKind.INSERT_EVAL, title="eval", safe=False, target_line=inner,
                           target_end_line=inner + 1, code="model.eval()", entity="model",
                           preferred=True)
            column = len(lines[inner + 1]) - len(lines[inner + 1].lstrip())
            found.append(Finding("TM001", "missing-eval", "model", Severity.WARNING,
                                 Range.of(inner + 1, column, inner + 1, column + 8),
                                 fixes=(spec,)))
        return AnalysisResult(findings=sorted(found, key=lambda f: f.range))

    monkeypatch.setattr(verify_module, "_analyze", fake)
    text = "for epoch in range(2):\n    for x in val_loader:\n        model(x)\n"
    result = fix_all(text, PATH, DEFAULT_SETTINGS, unsafe=True)
    assert result.text == ("with torch.no_grad():\n    for epoch in range(2):\n"
                           "        model.eval()\n        for x in val_loader:\n"
                           "            model(x)\n")
    assert sorted(f.message for f in result.fixed) == ["inner loop", "model", "outer loop"]
    # The TM001 fixed in the second round is reported where it was in the original text.
    tm001 = next(f for f in result.fixed if f.code == "TM001")
    assert (tm001.range.start.line, tm001.range.start.character) == (2, 8)
    assert fix_all(result.text, PATH, DEFAULT_SETTINGS, unsafe=True).text == result.text


def test_a_finding_reworded_after_the_fix_is_still_there(monkeypatch: pytest.MonkeyPatch) -> None:
    from torchmode.findings import AnalysisResult, Finding, FixSpec, Range, Severity

    spec = FixSpec(kind=FixKind.INSERT_EVAL, title="eval", safe=False, target_line=0,
                   target_end_line=1, code="model.eval()", entity="model")

    def fake(text: str, path: str, settings: object, project: object) -> AnalysisResult:
        line = text.splitlines().index("    model(x)")
        tail = "(reworded after the fix)" if "model.eval()" in text else "before"
        return AnalysisResult(findings=[Finding(
            "TM001", "missing-eval", f"model may be in training mode {tail}", Severity.WARNING,
            Range.of(line, 4, line, 12), fixes=(spec,))])

    monkeypatch.setattr(verify_module, "_analyze", fake)
    monkeypatch.setattr(verify_module, "_BEFORE_CACHE", type(verify_module._BEFORE_CACHE)())
    text = "for x in val_loader:\n    model(x)\n"
    (finding,) = fake(text, PATH, None, None).findings
    assert offered_fixes(text, PATH, finding, DEFAULT_SETTINGS) == []
