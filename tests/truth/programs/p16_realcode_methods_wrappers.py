"""Patterns from real code: helper methods, project no-grad decorators, wrappers, loaders."""
import io

import torch
import torch.nn as nn


class RNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(2, 2, 2, dropout=0.5)

    def forward(self, x, hidden):
        return self.gru(x, hidden)

    def init_hidden(self):
        return torch.zeros(2, 1, 2)


def evaluate(line):
    hidden = rnn.init_hidden()  # a method: no forward call here
    out, hidden = rnn(line, hidden)  # truth: train grad
    return out


def smart_inference_mode(enabled=True):
    def decorate(fn):
        return (torch.inference_mode if enabled else torch.no_grad)()(fn)

    return decorate


@smart_inference_mode()
def run(model, x):
    model.eval()
    return model(x)  # truth: eval no_grad


class Wrapper(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)


def attempt_load(buffer):
    buffer.seek(0)
    return torch.load(buffer, weights_only=False).eval()


class Backend(nn.Module):
    def __init__(self, buffer):
        super().__init__()
        self.model = attempt_load(buffer)

    def forward(self, x):
        return self.model(x)


rnn = RNN()
evaluate(torch.randn(1, 1, 2))
net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
run(net, torch.randn(1, 2))
net.eval()
wrapped = Wrapper(net)
wrapped(torch.randn(1, 2))  # truth: eval grad
saved = io.BytesIO()
torch.save(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)), saved)
backend = Backend(saved)
backend(torch.randn(1, 2))  # truth: eval grad
