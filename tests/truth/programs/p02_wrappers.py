"""A DDP-like wrapper: wrapper.module is the same model; eval() recurses."""
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x):
        return self.bn(self.fc(x))


class Wrapper(nn.Module):
    """What DataParallel/DDP look like from outside: the model under .module."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *args):
        return self.module(*args)


x = torch.randn(4, 3)
model = Net()
wrapped = Wrapper(model)
wrapped(x)  # truth: train grad

wrapped.module.eval()
model(x)  # truth: eval grad

wrapped.train()
model(x)  # truth: train grad
wrapped.module(x)  # truth: train grad

wrapped.eval()
wrapped.module(x)  # truth: eval grad
model(x)  # truth: eval grad
