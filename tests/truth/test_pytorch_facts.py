"""The PyTorch facts RULES.md §1 builds on, checked against torch itself.

If a PyTorch release changes one of them, this file fails first and says which
assumption of the analyzer no longer holds.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.Sequential(nn.BatchNorm1d(8), nn.Dropout(0.5)),
        nn.Linear(8, 2),
    )


def test_modules_start_in_training_mode() -> None:
    net = _net()
    assert all(m.training for m in net.modules())


def test_eval_and_train_return_self_and_recurse() -> None:
    net = _net()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    assert net.train(False) is net
    assert not any(m.training for m in net.modules())
    assert net.train(True) is net and all(m.training for m in net.modules())


def test_training_flag_assignment_skips_submodules() -> None:
    net = _net()
    net.training = False  # what TM006 reports
    assert not net.training
    assert all(m.training for m in list(net.modules())[1:])


def test_to_and_wrappers_keep_the_same_module() -> None:
    net = _net()
    assert net.to("cpu") is net and net.float() is net and net.cpu() is net
    wrapper = nn.DataParallel(net)  # CPU: a plain wrapper whose .module is net
    assert wrapper.module is net
    wrapper.eval()
    assert not net.training


def test_deepcopy_copies_the_mode() -> None:
    net = _net().eval()
    assert not copy.deepcopy(net).training
    assert copy.deepcopy(net.train()).training


@pytest.mark.parametrize(
    "layer, shape",
    [
        (nn.Linear(6, 6), (5, 6)),
        (nn.Conv2d(3, 3, 3), (2, 3, 8, 8)),
        (nn.LayerNorm(6), (5, 6)),
        (nn.GroupNorm(2, 4), (5, 4, 3)),
        (nn.InstanceNorm1d(4), (5, 4, 7)),  # track_running_stats=False by default
        (nn.LSTM(6, 6), (3, 5, 6)),          # dropout=0
    ],
)
def test_mode_independent_layers(layer: nn.Module, shape: tuple[int, ...]) -> None:
    x = torch.randn(*shape)
    layer.train()
    out_train = layer(x)
    layer.eval()
    out_eval = layer(x)
    if isinstance(out_train, tuple):
        out_train, out_eval = out_train[0], out_eval[0]
    assert torch.allclose(out_train, out_eval)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (nn.Dropout(0.5), (64, 64)),
        (nn.Dropout2d(0.5), (4, 8, 5, 5)),
        (nn.AlphaDropout(0.5), (64, 64)),
        (nn.FeatureAlphaDropout(0.5), (4, 8, 5, 5)),
        (nn.BatchNorm1d(6), (16, 6)),
        (nn.BatchNorm2d(3), (4, 3, 5, 5)),
        (nn.InstanceNorm1d(4, track_running_stats=True), (5, 4, 7)),
        (nn.LSTM(6, 6, num_layers=2, dropout=0.5), (3, 5, 6)),
    ],
)
def test_mode_dependent_layers(layer: nn.Module, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    x = torch.randn(*shape) + 1.0  # non-zero mean so BatchNorm stats differ from init
    layer.train()
    out_train = layer(x)
    layer.eval()
    out_eval = layer(x)
    if isinstance(out_train, tuple):
        out_train, out_eval = out_train[0], out_eval[0]
    assert not torch.allclose(out_train, out_eval)


def test_load_state_dict_keeps_mode() -> None:
    source = _net()
    target = _net().eval()
    target.load_state_dict(source.state_dict())
    assert not any(m.training for m in target.modules())
    target.train()
    target.load_state_dict(source.state_dict())
    assert all(m.training for m in target.modules())


def test_torch_load_keeps_the_saved_mode(tmp_path) -> None:
    path = tmp_path / "whole.pt"
    torch.save(_net().eval(), path)
    assert not torch.load(path, weights_only=False).training
    torch.save(_net(), path)
    assert torch.load(path, weights_only=False).training


def test_with_no_grad_without_call_raises() -> None:
    with pytest.raises((TypeError, AttributeError)):
        with torch.no_grad:  # type: ignore[attr-defined]  # noqa: TM004
            pass
    with pytest.raises((TypeError, AttributeError)):
        with torch.inference_mode:  # type: ignore[attr-defined]
            pass


def test_bare_eval_attribute_does_nothing() -> None:
    net = _net()
    net.eval  # noqa: B018 - the TM004 mistake on purpose
    assert net.training


def test_grad_disabling_spellings() -> None:
    x = torch.ones(2, requires_grad=True)

    @torch.no_grad
    def bare(t: torch.Tensor) -> torch.Tensor:
        return t * 2

    @torch.no_grad()
    def called(t: torch.Tensor) -> torch.Tensor:
        return t * 2

    @torch.inference_mode
    def inference_bare(t: torch.Tensor) -> torch.Tensor:
        return t * 2

    assert not bare(x).requires_grad
    assert not called(x).requires_grad
    assert not inference_bare(x).requires_grad
    with torch.inference_mode():
        assert not torch.is_grad_enabled()
    with torch.no_grad():
        with torch.enable_grad():
            assert torch.is_grad_enabled()
            assert (x * 2).requires_grad
    previous = torch.is_grad_enabled()
    try:
        torch.set_grad_enabled(False)
        assert not torch.is_grad_enabled()
        torch.no_grad().__enter__()
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(previous)


def test_volatile_variable_disables_nothing() -> None:
    from torch.autograd import Variable

    w = torch.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="volatile"):
        v = Variable(torch.ones(2), volatile=True)
    assert torch.is_grad_enabled()
    assert (v * w).requires_grad


def test_backward_under_no_grad_fails() -> None:
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        loss = layer(torch.ones(1, 2)).sum()
        with pytest.raises(RuntimeError, match="does not require grad"):
            loss.backward()


def test_optimizer_step_is_fine_under_no_grad() -> None:
    layer = nn.Linear(2, 1)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(torch.ones(1, 2)).sum().backward()
    before = layer.weight.detach().clone()
    with torch.no_grad():
        opt.step()
    assert not torch.equal(before, layer.weight)


def test_module_reading_self_training_is_mode_dependent() -> None:
    class Noisy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + 1.0 if self.training else x

    noisy = Noisy()
    x = torch.zeros(1)
    assert noisy(x).item() == 1.0
    assert noisy.eval()(x).item() == 0.0


def _dropout_net() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))


def test_jit_trace_bakes_in_the_training_mode() -> None:
    """TM007: a trace taken in train mode keeps dropping out, even after .eval()."""
    import warnings

    x = torch.ones(4, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(_dropout_net(), x, check_trace=False)
    traced.eval()
    assert not torch.equal(traced(x), traced(x))
    net = _dropout_net().eval()
    traced_eval = torch.jit.trace(net, x)
    assert torch.equal(traced_eval(x), net(x))


def test_torch_export_captures_the_current_mode() -> None:
    x = torch.ones(4, 8)
    exported = torch.export.export(_dropout_net(), (x,))
    assert not torch.equal(exported.module()(x), exported.module()(x))
    net = _dropout_net().eval()
    exported_eval = torch.export.export(net, (x,))
    assert torch.equal(exported_eval.module()(x), net(x))


def test_onnx_export_defaults_to_the_torch_export_path() -> None:
    """torch.onnx.export's default (dynamo=True) captures with torch.export in the
    model's current mode; only the TorchScript path (dynamo=False) switches to
    eval itself (training=TrainingMode.EVAL). Hence TM007 covers onnx.export
    without dynamo=False."""
    import inspect

    params = inspect.signature(torch.onnx.export).parameters
    assert params["dynamo"].default is True
    assert params["training"].default == torch.onnx.TrainingMode.EVAL
