"""An evaluate(model) helper called after the inner training loop."""
import torch
import torch.nn as nn
from data import train_loader, val_loader


def evaluate(model, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)  # fixed: eval no_grad
            correct += (out.argmax(1) == y).sum().item()
    return correct


def main():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _epoch in range(3):
        for x, y in train_loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()  # fixed: train grad
            opt.step()
        evaluate(model, val_loader)


main()
