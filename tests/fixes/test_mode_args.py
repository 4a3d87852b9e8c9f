"""Exact text of the TM008 (add ``training=``) and TM009 (re-apply the freeze) fixes,
from analysis to the verified quick fix."""

from __future__ import annotations

from torchmode.analyzer import analyze
from torchmode.findings import FixKind
from torchmode.fixes import apply_edits, fix_all, offered_fixes
from torchmode.settings import DEFAULT_SETTINGS

from fixes.helpers import fixed, src

PATH = "model.py"
ARG = FixKind.ADD_TRAINING_ARG
REFREEZE = FixKind.REAPPLY_FREEZE

MODULE = src('''
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def forward(self, x):
            {call}
            return x
''')


def offered(text: str, code: str) -> list[str]:
    found = [f for f in analyze(text, PATH).findings if f.code == code]
    assert len(found) == 1, found
    return [apply_edits(text, fix.edits)
            for fix in offered_fixes(text, PATH, found[0], DEFAULT_SETTINGS)]


def module(call: str) -> str:
    return MODULE.replace("{call}", call)


def test_training_goes_after_the_positional_arguments() -> None:
    text = module("x = F.dropout(x, 0.5)  # keep")
    assert offered(text, "TM008") == [
        module("x = F.dropout(x, 0.5, training=self.training)  # keep")]


def test_training_goes_after_keywords_and_before_a_trailing_comma() -> None:
    text = module("x = F.dropout(\n            x,\n            p=0.1,\n        )")
    assert offered(text, "TM008") == [
        module("x = F.dropout(\n            x,\n            p=0.1, training=self.training,\n"
               "        )")]


def test_only_the_reported_call_of_a_nested_expression_changes() -> None:
    text = module("x = F.relu(F.rrelu(torch.tanh(x), 0.1, 0.3), inplace=True)")
    assert offered(text, "TM008") == [
        module("x = F.relu(F.rrelu(torch.tanh(x), 0.1, 0.3, training=self.training), "
               "inplace=True)")]


def test_the_instance_parameter_keeps_its_name() -> None:
    text = module("x = F.alpha_dropout(x, 0.2)").replace("forward(self, x)", "forward(net, x)")
    assert offered(text, "TM008") == [text.replace("0.2)", "0.2, training=net.training)")]


def test_builder_refuses_a_callee_that_is_not_there() -> None:
    text = module("x = G.dropout(x, 0.5)")
    assert fixed(text, ARG, 6, 6, "training=self.training", entity="F.dropout") is None


TRAIN = src('''
    import torch
    import torch.nn as nn


    def fit(model, loader, opt, epochs, cfg):
        if cfg.freeze_bn:
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()  # keep statistics
        for epoch in range(epochs):
            model.train()
            for x, y in loader:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
''')


def test_refreeze_copies_the_freeze_with_its_condition_after_train() -> None:
    assert offered(TRAIN, "TM009") == [TRAIN.replace(
        "        model.train()\n",
        "        model.train()\n"
        "        if cfg.freeze_bn:\n"
        "            for m in model.modules():\n"
        "                if isinstance(m, nn.BatchNorm2d):\n"
        "                    m.eval()  # keep statistics\n")]


def test_refreeze_of_a_submodule_with_crlf_line_endings() -> None:
    text = src('''
        def fit(model, loader, opt):
            model.backbone.eval()
            model.train()
            for x, y in loader:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
    ''').replace("\n", "\r\n")
    assert offered(text, "TM009") == [text.replace(
        "model.train()\r\n", "model.train()\r\n    model.backbone.eval()\r\n")]


def test_refreeze_after_train_on_the_last_line_without_newline() -> None:
    text = "model.backbone.eval()\nmodel.train()"
    assert fixed(text, REFREEZE, 1, 1, "model.backbone.eval()") == \
        "model.backbone.eval()\nmodel.train()\nmodel.backbone.eval()"


def test_fix_all_clears_both_rules() -> None:
    text = module("x = F.dropout(x, 0.5)")
    result = fix_all(text, PATH, DEFAULT_SETTINGS, unsafe=True)
    assert result.text == module("x = F.dropout(x, 0.5, training=self.training)")
    assert fix_all(text, PATH, DEFAULT_SETTINGS, unsafe=False).text == text  # unsafe only
    result = fix_all(TRAIN, PATH, DEFAULT_SETTINGS, unsafe=True)
    assert [f.code for f in result.fixed] == ["TM009"] and result.remaining == []
