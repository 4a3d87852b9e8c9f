"""Export for deployment: TorchScript trace and torch.export of a freshly loaded model.

The bugs: the model is traced while still in training mode (dropout masks and batch
statistics get baked into the traced graph), and `model.training = False` only flips
the flag of the top-level module, not of its Dropout/BatchNorm children.

Runs on random weights: python examples/export_model.py
"""
import torch
import torch.nn as nn


class KeypointHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.drop = nn.Dropout2d(0.2)
        self.out = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.out(self.drop(self.body(x)))


def main():
    model = KeypointHead()
    example = torch.rand(1, 3, 16, 16)
    traced = torch.jit.trace(model, example)
    traced.save("keypoints_traced.pt")

    model.training = False
    exported = torch.export.export(model, (example,))
    print(exported.graph_signature.user_inputs)


if __name__ == "__main__":
    main()
