"""Validation at the end of each epoch switches to eval() and nothing switches back:
from the second epoch on, the model trains with dropout off and frozen BatchNorm stats.

Runs on random tensors: python examples/no_train_after_validation.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class TextClassifier(nn.Module):
    def __init__(self, vocab=100, dim=32, n_classes=4):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab, dim)
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(dim, n_classes)

    def forward(self, tokens):
        return self.fc(self.dropout(self.embedding(tokens)))


class Trainer:
    def __init__(self, model, train_loader, val_loader, lr=0.1):
        self.model = model
        self.optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        self.train_loader = train_loader
        self.val_loader = val_loader

    def fit(self, epochs):
        self.model.train()
        for epoch in range(epochs):
            for tokens, labels in self.train_loader:
                self.optimizer.zero_grad()
                F.cross_entropy(self.model(tokens), labels).backward()
                self.optimizer.step()
            print(f"epoch {epoch}: val acc {self.validate():.2%}")

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        correct = total = 0
        for tokens, labels in self.val_loader:
            correct += (self.model(tokens).argmax(1) == labels).sum().item()
            total += labels.numel()
        return correct / total


def main():
    torch.manual_seed(0)

    def loader(n):
        return [(torch.randint(0, 100, (16, 12)), torch.randint(0, 4, (16,))) for _ in range(n)]

    Trainer(TextClassifier(), loader(6), loader(2)).fit(epochs=3)


if __name__ == "__main__":
    main()
