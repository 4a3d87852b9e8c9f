"""Validation written inline in the epoch loop, with no mode calls at all."""
import torch
import torch.nn as nn
from data import train_loader, val_loader

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)  # fixed: train grad
        loss.backward()
        opt.step()
    correct = 0
    with torch.no_grad():
        for x, y in val_loader:
            correct += (model(x).argmax(1) == y).sum().item()  # fixed: eval no_grad
    print(epoch, correct)
