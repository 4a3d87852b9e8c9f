"""Grad-mode spellings that are easy to get wrong statically."""
import contextlib

import torch
import torch.autograd as ag
import torch.nn as nn

model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).eval()
x = torch.randn(1, 2)

with torch.inference_mode(False):
    model(x)  # truth: eval grad

with torch.no_grad():
    # inference_mode(False) turns grad mode back on, even inside no_grad
    # (its C++ guard sets grad_mode = not enabled).
    with torch.inference_mode(mode=False):
        model(x)  # truth: eval grad
    with torch.set_grad_enabled(True):
        model(x)  # truth: eval grad

with torch.no_grad(), torch.enable_grad():
    model(x)  # truth: eval grad

with torch.autocast("cpu"), torch.no_grad():
    model(x)  # truth: eval no_grad

with ag.no_grad():
    model(x)  # truth: eval no_grad

with torch.autograd.set_grad_enabled(False):
    model(x)  # truth: eval no_grad


@torch.enable_grad()
def with_grad(inp):
    return model(inp)  # truth: eval grad


with torch.no_grad():
    with_grad(x)

training = False
ctx = contextlib.nullcontext() if training else torch.no_grad()
with ctx:
    model(x)  # truth: eval no_grad


@torch.no_grad()
def batches_of_outputs(inputs):
    for inp in inputs:
        yield model(inp)  # truth: eval no_grad


for _out in batches_of_outputs([x, x]):
    model(x)  # truth: eval grad
