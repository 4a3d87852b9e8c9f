"""Helpers that switch a model passed to them: literal flags, keyword flags, return self."""
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
x = torch.randn(2, 3)


def freeze(m):
    m.eval()


def set_mode(m, training):
    m.train(training)


def prepare(m):
    m.train()
    return m


def untouched(m):
    return m.weight if hasattr(m, "weight") else None


freeze(model)
model(x)  # truth: eval grad
prepare(model)
model(x)  # truth: train grad
set_mode(model, False)
model(x)  # truth: eval grad
set_mode(model, True)
model(x)  # truth: train grad
prepare(model).eval()
model(x)  # truth: eval grad
untouched(model)
model(x)  # truth: eval grad

model.train(mode=False)
model(x)  # truth: eval grad
model.train(mode=True)
model(x)  # truth: train grad
