"""A small training script with three train/eval-mode mistakes (end-to-end fixture)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self, n_features: int = 16, n_classes: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_features, 32),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(32, n_classes),
        )

    def forward(self, x):
        return self.body(x)


def batches(n, size=8):
    return [(torch.randn(size, 16), torch.randint(0, 4, (size,))) for _ in range(n)]


def main():
    model = Classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_loader, val_loader = batches(4), batches(2)

    for epoch in range(2):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()

        correct = 0
        for x, y in val_loader:
            correct += (model(x).argmax(1) == y).sum().item()
        print(f"epoch {epoch}: {correct} correct")

    model.eval
    with torch.no_grad():
        print(model(torch.randn(1, 16)))


if __name__ == "__main__":
    main()
