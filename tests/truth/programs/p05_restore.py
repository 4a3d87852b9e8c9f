"""Functions that save and restore the caller's mode, and ones that do not."""
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(5, 5), nn.Dropout(0.3))
x = torch.randn(2, 5)


def evaluate_restoring(m, inp):
    was_training = m.training
    m.eval()
    with torch.no_grad():
        out = m(inp)  # truth: eval no_grad
    m.train(was_training)
    return out


def evaluate_finally(m, inp):
    mode = m.training
    m.eval()
    try:
        with torch.no_grad():
            return m(inp)  # truth: eval no_grad
    finally:
        m.train(mode)


def evaluate_leaving_eval(m, inp):
    m.eval()
    with torch.no_grad():
        return m(inp)  # truth: eval no_grad


model.train()
evaluate_restoring(model, x)
model(x)  # truth: train grad
evaluate_finally(model, x)
model(x)  # truth: train grad
evaluate_leaving_eval(model, x)
model(x)  # truth: eval grad

# Restore into eval: the saved mode was eval.
evaluate_restoring(model, x)
model(x)  # truth: eval grad
