"""A while training loop with validation at the end of each pass."""
import torch
import torch.nn as nn
from data import train_loader, val_loader

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
step = 0
while step < 9:
    for x, y in train_loader:
        loss = nn.functional.cross_entropy(model(x), y)  # fixed: train grad
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
    with torch.no_grad():
        for x, _y in val_loader:
            print(model(x).argmax(1))  # fixed: eval no_grad
