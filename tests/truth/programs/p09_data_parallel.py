"""nn.DataParallel on the CPU: the wrapper and .module are one model."""
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
x = torch.randn(2, 3)
dp = nn.DataParallel(model)
dp(x)  # truth: train grad

dp.eval()
model(x)  # truth: eval grad
dp.module(x)  # truth: eval grad

model.train()
dp(x)  # truth: train grad

dp.module.eval()
with torch.no_grad():
    dp(x)  # truth: eval no_grad
