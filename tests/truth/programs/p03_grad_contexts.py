"""Every way to turn graph recording off, and enable_grad inside them."""
import torch
import torch.nn as nn
from torch import no_grad

model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.1))
model.eval()
x = torch.randn(2, 3)


@torch.no_grad()
def with_parens(inp):
    return model(inp)  # truth: eval no_grad


@torch.no_grad
def without_parens(inp):
    return model(inp)  # truth: eval no_grad


@no_grad()
def imported_name(inp):
    return model(inp)  # truth: eval no_grad


@torch.inference_mode()
def inference(inp):
    return model(inp)  # truth: eval no_grad


@torch.set_grad_enabled(False)
def set_grad_decorated(inp):
    return model(inp)  # truth: eval no_grad


def plain_call(inp):
    torch.set_grad_enabled(False)
    out = model(inp)  # truth: eval no_grad
    torch.set_grad_enabled(True)
    return out


with_parens(x)
without_parens(x)
imported_name(x)
inference(x)
set_grad_decorated(x)
plain_call(x)
model(x)  # truth: eval grad

with torch.no_grad():
    model(x)  # truth: eval no_grad
    with torch.enable_grad():
        model(x)  # truth: eval grad
    model(x)  # truth: eval no_grad

with torch.inference_mode():
    model(x)  # truth: eval no_grad

with torch.set_grad_enabled(False):
    model(x)  # truth: eval no_grad

model(x)  # truth: eval grad
torch.no_grad().__enter__()
model(x)  # truth: eval no_grad
