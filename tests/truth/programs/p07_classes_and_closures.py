"""self.model across methods, and a closure that switches the enclosing model."""
import torch
import torch.nn as nn


class Runner:
    def __init__(self):
        self.model = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5), nn.Linear(4, 1))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.batches = [(torch.randn(3, 2), torch.randn(3, 1)) for _ in range(2)]

    def train_epoch(self):
        self.model.train()
        for x, y in self.batches:
            self.optimizer.zero_grad()
            nn.functional.mse_loss(self.model(x), y).backward()  # truth: train grad
            self.optimizer.step()

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        return [self.model(x) for x, _ in self.batches]  # truth: eval no_grad

    def fit(self, epochs):
        for _ in range(epochs):
            self.train_epoch()
            self.validate()


Runner().fit(2)


def main():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    x = torch.randn(3, 2)

    def freeze():
        model.eval()

    model(x)  # truth: train grad
    freeze()
    with torch.no_grad():
        model(x)  # truth: eval no_grad


main()
