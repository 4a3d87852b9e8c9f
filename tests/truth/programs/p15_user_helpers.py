"""User-written helpers that change modes: context managers, decorators, lambdas, getattr."""
import contextlib
import functools

import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
x = torch.randn(1, 2)


@contextlib.contextmanager
def evaluating(m):
    was_training = m.training
    m.eval()
    try:
        yield m
    finally:
        m.train(was_training)


with evaluating(model):
    model(x)  # truth: eval grad
model(x)  # truth: train grad


def no_grad_eval(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch.no_grad():
            return fn(*args, **kwargs)

    return wrapper


@no_grad_eval
def predict(inp):
    return model(inp)  # truth: train no_grad


predict(x)

set_eval = lambda m: m.eval()  # noqa: E731
set_eval(model)
model(x)  # truth: eval grad

getattr(model, "train")(True)  # noqa: B009 - on purpose
model(x)  # truth: train grad

guard = torch.no_grad()
with guard:
    model(x)  # truth: train no_grad

for _ in range(2):
    model.eval()
else:
    model.train()
model(x)  # truth: train grad

steps = 0
while True:
    steps += 1
    if steps > 2:
        model.eval()
        break
model(x)  # truth: eval grad
