"""Python sources the language server tests open."""

NET_AND_OPTIMIZER = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
"""

TRAIN_LOOP = """\
for x, y in train_loader:
    optimizer.zero_grad()
    loss = (model(x) - y).pow(2).mean()
    loss.backward()
    optimizer.step()
"""

# Validation with neither eval() nor no_grad().
TRAIN_EVAL = NET_AND_OPTIMIZER + "\n" + TRAIN_LOOP + """
for x, y in val_loader:
    out = model(x)
"""

# The same program, fixed by hand: eval() and no_grad() around evaluation.
CLEAN = NET_AND_OPTIMIZER + "\n" + TRAIN_LOOP + """
model.eval()
with torch.no_grad():
    for x, y in val_loader:
        out = model(x)
"""

BARE_EVAL = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
model.eval
with torch.no_grad():
    for x in test_loader:
        out = model(x)
"""
