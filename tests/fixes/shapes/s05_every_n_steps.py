"""Nested epoch/step loops, evaluating every N steps."""
import torch
import torch.nn as nn
from data import train_loader, val_loader

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
opt = torch.optim.Adam(model.parameters())
for _epoch in range(2):
    for step, (x, y) in enumerate(train_loader):
        out = model(x)  # fixed: train grad
        loss = nn.functional.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 2 == 0:
            with torch.no_grad():
                for vx, _vy in val_loader:
                    print(model(vx).argmax(1))  # fixed: eval no_grad
