"""A GAN: two trained models; the discriminator is validated after each epoch."""
import torch
import torch.nn as nn
from data import val_loader

G = nn.Sequential(nn.Linear(8, 4), nn.Dropout(0.3))
D = nn.Sequential(nn.Linear(4, 1), nn.Dropout(0.3))
opt_g = torch.optim.Adam(G.parameters())
opt_d = torch.optim.Adam(D.parameters())
loader = [torch.randn(8, 4) for _ in range(3)]
for _epoch in range(3):
    for real in loader:
        z = torch.randn(real.shape[0], 8)
        fake = G(z)  # fixed: train grad
        d_loss = D(real).mean() - D(fake.detach()).mean()  # fixed: train grad
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = -D(fake).mean()  # fixed: train grad
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    with torch.no_grad():
        for real, _ in val_loader:
            print(D(real).mean())  # fixed: eval no_grad
