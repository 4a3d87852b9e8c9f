"""Validation under no_grad() but without model.eval(): Dropout and BatchNorm stay in
training mode, so the validation metrics are noisy and BatchNorm's running statistics
are updated with validation data.

Runs on random tensors: python examples/missing_eval.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class TabularNet(nn.Module):
    def __init__(self, n_features=20, n_classes=3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, 64),
            nn.BatchNorm1d(64),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(64, n_classes),
        )

    def forward(self, x):
        return self.net(x)


def batches(n_batches, batch_size=32):
    return [(torch.randn(batch_size, 20), torch.randint(0, 3, (batch_size,))) for _ in range(n_batches)]


def main():
    torch.manual_seed(0)
    train_loader, val_loader = batches(8), batches(2)
    model = TabularNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    for epoch in range(3):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()

        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        print(f"epoch {epoch}: val acc {correct / 64:.2%}")


if __name__ == "__main__":
    main()
