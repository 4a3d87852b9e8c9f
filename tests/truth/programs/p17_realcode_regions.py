"""Patterns from real code: evaluation names, periodic evaluation, correlated branches,
isinstance guards, deliberate train-mode helpers, classes received as parameters."""
import numpy as np
import torch
import torch.nn as nn


def make():
    return nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))


generator = make()
optimizer = torch.optim.SGD(generator.parameters(), lr=0.1)


def sample_image(n):
    return generator(torch.randn(n, 2))  # truth: train grad


for step in range(4):
    loss = generator(torch.randn(4, 2)).sum()  # truth: train grad
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 2 == 0:
        test_out = generator(torch.randn(4, 2))  # truth: train grad
        sample_image(4)


def validate(encoder, data):
    if encoder is not None:
        encoder.eval()
    with torch.no_grad():
        if encoder is not None:
            data = encoder(data)  # truth: eval no_grad
    return data


def accuracy(net, data):
    if isinstance(net, nn.Module):
        net.eval()
    with torch.no_grad():
        if isinstance(net, nn.Module):
            return net(data)  # truth: eval no_grad
        return net(data, is_training=False)


def test(model, data, train):
    if train:
        model.train()
    else:
        model.eval()
    with torch.no_grad():
        return model(data)  # train on the first call, eval on the second: no definite claim


def check_shapes(Discriminator):
    D = Discriminator()
    x = torch.from_numpy(np.random.rand(4, 2)).float()
    return D(x)  # truth: train grad


validate(make(), torch.randn(4, 2))
validate(None, torch.randn(4, 2))
accuracy(make(), torch.randn(4, 2))
accuracy(lambda d, is_training: d, torch.randn(4, 2))
bn = make()
test(bn, torch.randn(4, 2), True)
test(bn, torch.randn(4, 2), False)
check_shapes(make)
