"""Aliases share one module: assignment, .to()/.cpu()/.float(), eval() returning self."""
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
x = torch.randn(4, 3)

net = model
net.eval()
model(x)  # truth: eval grad

model = model.to("cpu")
model.train()
net(x)  # truth: train grad

moved = model.cpu().float()
moved.eval()
model(x)  # truth: eval grad

chained = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).to(torch.float32).eval()
chained(x)  # truth: eval grad

frozen = model.train().eval()
frozen(x)  # truth: eval grad
