"""A clean epoch loop: train() at the top of each epoch, eval + no_grad for validation."""
import torch
import torch.nn as nn

model = nn.Sequential(
    nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2)
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
train_loader = [(torch.randn(4, 6), torch.randint(0, 2, (4,))) for _ in range(3)]
val_loader = [(torch.randn(4, 6), torch.randint(0, 2, (4,))) for _ in range(2)]

for _epoch in range(3):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)  # truth: train grad
        loss.backward()
        optimizer.step()

    model.eval()
    with torch.no_grad():
        for x, _ in val_loader:
            out = model(x)  # truth: eval no_grad

# Eval at the end of the epoch only: the second epoch trains in eval mode.
model.train()
for _epoch in range(2):
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        model(val_loader[0][0])  # truth: eval no_grad
