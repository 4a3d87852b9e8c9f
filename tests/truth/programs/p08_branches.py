"""Branches, try/except and loops whose outcome is decided at run time."""
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
x = torch.randn(1, 2)
flag = torch.rand(1).item() > 2.0  # always False, unknown to a static analysis

if flag:
    model.eval()
model(x)  # truth: train grad

if flag:
    model.eval()
else:
    model.train(False)
model(x)  # truth: eval grad

try:
    model.train()
    raise FileNotFoundError("no checkpoint")
except FileNotFoundError:
    pass
model(x)  # truth: train grad

for i in range(3):
    if i == 1:
        break
    model.eval()
model(x)  # truth: eval grad

model.train(flag)
model(x)  # truth: eval grad
