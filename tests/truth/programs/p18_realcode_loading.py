"""Patterns from real code: checkpoint dicts, construction through chains, linear probing,
a network built in eval mode and kept there."""
import io

import torch
import torch.nn as nn


def make():
    return nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))


saved = io.BytesIO()
torch.save({"encoder": make().eval(), "epoch": 3}, saved)
saved.seek(0)
checkpoint = torch.load(saved, weights_only=False)
encoder = checkpoint["encoder"]


def caption(enc, image):
    with torch.no_grad():
        return enc(image)  # truth: eval no_grad


caption(encoder, torch.randn(4, 2))

model = make().to("cpu")
parallel = nn.DataParallel(make()).cpu()
model(torch.randn(4, 2))  # truth: train grad
parallel(torch.randn(4, 2))  # truth: train grad

probe = make()
for param in probe.parameters():
    param.requires_grad = False
probe.append(nn.Linear(2, 1))
optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, probe.parameters()), lr=0.1)
style = make().eval()
for _epoch in range(2):
    probe.eval()
    loss = probe(torch.randn(4, 2)).sum() + style(torch.randn(4, 2)).sum()  # truth: eval grad
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
