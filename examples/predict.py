"""An inference script: load a checkpoint and classify a batch.

Two bugs: the model is never put in eval mode (Dropout is active, BatchNorm uses the
statistics of this one batch), and the forward call builds an autograd graph.

Runs without a checkpoint on random weights: python examples/predict.py
(pass --checkpoint smallnet.pt after running examples/cifar/train.py)
"""
import argparse

import torch
import torch.nn as nn


class SmallNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(32 * 8 * 8, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def load_batch(path, batch_size):
    """A saved tensor of images, or random ones for a dry run."""
    if path:
        return torch.load(path)
    return torch.rand(batch_size, 3, 32, 32)


CLASSES = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--images", default=None)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()

    model = SmallNet()
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    images = load_batch(args.images, args.batch_size)

    probs = model(images).softmax(dim=1)
    for p in probs:
        print(CLASSES[p.argmax().item()], f"{p.max().item():.2f}")


if __name__ == "__main__":
    main()
