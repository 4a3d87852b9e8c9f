"""Rebinding a name breaks the alias; loops over several models switch each of them."""
import torch
import torch.nn as nn


def make():
    return nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))


x = torch.randn(1, 2)
model = make()
old = model
old.eval()
model = make()  # a new module, in training mode
old(x)  # truth: eval grad
model(x)  # truth: train grad

netG, netD = make(), make()
for net in (netG, netD):
    net.eval()
netG(x)  # truth: eval grad
netD(x)  # truth: eval grad

for net in [netG, netD]:
    net.train()
netD(x)  # truth: train grad

models = {"a": make(), "b": make()}
for _name, m in models.items():
    m.eval()
first = models["a"]
first(x)  # truth: eval grad
