"""Small random data for the shape programs (a few batches, CPU, seconds to run)."""

import torch

torch.manual_seed(0)
train_loader = [(torch.randn(8, 4), torch.randint(0, 2, (8,))) for _ in range(3)]
val_loader = [(torch.randn(8, 4), torch.randint(0, 2, (8,))) for _ in range(2)]
test_loader = val_loader
