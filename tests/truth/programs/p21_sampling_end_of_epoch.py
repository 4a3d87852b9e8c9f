"""Sampling after G.eval() at the end of each epoch (udacity's DCGAN notebook): the samples
run in eval mode with autograd on, each keeping its graph; the next epoch trains again."""
import numpy as np
import torch
import torch.nn as nn

G = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
g_optimizer = torch.optim.Adam(G.parameters())
train_loader = [torch.randn(2, 4)]
fixed_z = torch.from_numpy(np.random.uniform(-1, 1, size=(16, 4))).float()
samples = []
for _epoch in range(3):
    for z in train_loader:
        g_optimizer.zero_grad()
        G(z).sum().backward()  # truth: train grad
        g_optimizer.step()
    G.eval()
    samples_z = G(fixed_z)  # truth: eval grad
    samples.append(samples_z)
    G.train()
