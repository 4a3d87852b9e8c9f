"""An inference script that switches grad off once, at the top: functions inherit it."""
import torch
import torch.nn as nn

torch.set_grad_enabled(False)

model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
model.eval()


def predict(batch):
    return model(batch)  # truth: eval no_grad


def main():
    batch = torch.randn(3, 4)
    print(predict(batch).shape)
    print(model(batch).shape)  # truth: eval no_grad


main()
