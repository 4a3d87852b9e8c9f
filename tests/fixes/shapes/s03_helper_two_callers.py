"""An evaluate(model) helper called from two places in the epoch loop."""
import torch
import torch.nn as nn
from data import test_loader, train_loader, val_loader


def evaluate(model, loader):
    total = 0
    with torch.no_grad():
        for x, y in loader:
            total += (model(x).argmax(1) == y).sum().item()  # fixed: eval no_grad
    return total


model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for _epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()  # fixed: train grad
        opt.step()
    print(evaluate(model, val_loader))
    print(evaluate(model, test_loader))
