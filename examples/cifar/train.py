"""Clean CIFAR-style training: train() each epoch, eval() + no_grad() for validation.

Runs on random tensors in a second: python examples/cifar/train.py
"""
import torch
import torch.nn.functional as F
from evaluation import evaluate
from models import SmallNet
from torch.utils.data import DataLoader, TensorDataset


def random_cifar(n):
    return TensorDataset(torch.randn(n, 3, 32, 32), torch.randint(0, 10, (n,)))


def train_one_epoch(model, loader, optimizer):
    model.train()
    for images, labels in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()


def main(epochs=2):
    torch.manual_seed(0)
    train_loader = DataLoader(random_cifar(32), batch_size=16, shuffle=True)
    val_loader = DataLoader(random_cifar(16), batch_size=16)
    model = SmallNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)

    for epoch in range(epochs):
        train_one_epoch(model, train_loader, optimizer)
        scheduler.step()
        accuracy, val_loss = evaluate(model, val_loader)
        print(f"epoch {epoch}: val_loss={val_loss:.3f} acc={accuracy:.2%}")

    # A final test pass, written inline.
    model.eval()
    with torch.no_grad():
        preds = torch.cat([model(images).argmax(1) for images, _ in val_loader])
    print("predicted classes:", preds.bincount(minlength=10).tolist())
    torch.save(model.state_dict(), "smallnet.pt")


if __name__ == "__main__":
    main()
