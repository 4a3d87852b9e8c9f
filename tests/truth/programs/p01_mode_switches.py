"""eval()/train() return self; train(False) is eval(); chained calls."""
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))


x = torch.randn(2, 4)
model = Net()
model(x)  # truth: train grad

same = model.eval()
same(x)  # truth: eval grad
model(x)  # truth: eval grad

model.train()
model(x)  # truth: train grad

model.train(False)
model(x)  # truth: eval grad

model.train(True)
model(x)  # truth: train grad

net = Net().eval()
net(x)  # truth: eval grad

other = Net().train().eval().train()
other(x)  # truth: train grad

model.eval().train()
model(x)  # truth: train grad
