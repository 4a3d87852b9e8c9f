"""model.eval() is called, but validation runs without torch.no_grad(): every batch
records an autograd graph, and summing loss tensors keeps all of them alive.

Runs on random tensors: python examples/missing_no_grad.py
"""
import torch
import torch.nn as nn


def make_model():
    return nn.Sequential(
        nn.Conv1d(4, 16, 5, padding=2),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(16, 1),
    )


def validate(model, loader, criterion):
    model.eval()
    total = 0.0
    for signals, targets in loader:
        total += criterion(model(signals), targets)
    return total / len(loader)


def main():
    torch.manual_seed(0)
    train_loader = [(torch.randn(8, 4, 50), torch.randn(8, 1)) for _ in range(6)]
    val_loader = [(torch.randn(8, 4, 50), torch.randn(8, 1)) for _ in range(2)]
    model = make_model()
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    for epoch in range(3):
        model.train()
        for signals, targets in train_loader:
            optimizer.zero_grad()
            criterion(model(signals), targets).backward()
            optimizer.step()
        val_loss = validate(model, val_loader, criterion)
        print(f"epoch {epoch}: val_loss {val_loss.item():.4f} (has grad_fn: {val_loss.grad_fn is not None})")


if __name__ == "__main__":
    main()
