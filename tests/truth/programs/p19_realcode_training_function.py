"""A training function that takes the model and ends with an evaluation helper: the model
leaves it in eval mode, so the next call's training step runs in eval (TM003)."""
import torch
import torch.nn as nn


def test(model, loader):
    model.eval()
    with torch.no_grad():
        for x in loader:
            model(x)  # truth: eval no_grad


def train_iter(model, optimizer, loader):
    for x in loader:
        loss = model(x).sum()  # train on the first call, eval after: no definite claim
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test(model, loader)


net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
data = [torch.randn(2, 2)]
for _epoch in range(3):
    train_iter(net, opt, data)
net(data[0])  # truth: eval grad
