"""Switching a submodule, and a train() override that keeps BatchNorm frozen."""
import torch
import torch.nn as nn


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.backbone(x))

    def train(self, mode=True):
        super().train(mode)
        self.backbone.eval()  # frozen BatchNorm statistics, as detection code does
        return self


x = torch.randn(3, 4)
det = Detector()
det.eval()
det(x)  # truth: eval grad
det.backbone(x)  # truth: eval grad
det.head(x)  # truth: eval grad

det.train()
det.head(x)  # truth: train grad
det.backbone(x)  # truth: eval grad

plain = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
plain.eval()
plain[1].train()
plain[0](x)  # truth: eval grad

# Mixed: the model's own flag is train, its backbone is frozen in eval.
frozen = Detector()
frozen.train()
frozen(x)
nn.Module.train(frozen)
frozen.backbone.eval()
frozen(x)
