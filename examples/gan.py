"""A small DCGAN-style loop on random "images". Two models, two optimizers.

The bug: samples for the progress log are drawn with netG.eval(), and netG is never
switched back, so from the second epoch on the generator trains with BatchNorm in
eval mode. (netD is fine: it is never switched.)

Runs on random tensors: python examples/gan.py
"""
import torch
import torch.nn as nn

NZ = 16


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ, 32, 4, 1, 0, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(True),
            nn.ConvTranspose2d(32, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Dropout(0.3),
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, 1),
        )

    def forward(self, x):
        return self.main(x)


def main(epochs=3):
    torch.manual_seed(0)
    dataloader = [torch.rand(8, 1, 8, 8) * 2 - 1 for _ in range(4)]
    netG, netD = Generator(), Discriminator()
    criterion = nn.BCEWithLogitsLoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    fixed_noise = torch.randn(4, NZ, 1, 1)

    for epoch in range(epochs):
        for real in dataloader:
            b = real.size(0)
            ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)

            optimizerD.zero_grad()
            fake = netG(torch.randn(b, NZ, 1, 1))
            lossD = criterion(netD(real), ones) + criterion(netD(fake.detach()), zeros)
            lossD.backward()
            optimizerD.step()

            optimizerG.zero_grad()
            lossG = criterion(netD(fake), ones)
            lossG.backward()
            optimizerG.step()

        netG.eval()
        with torch.no_grad():
            samples = netG(fixed_noise)
        print(f"epoch {epoch}: lossD {lossD.item():.3f} lossG {lossG.item():.3f} sample std {samples.std():.3f}")


if __name__ == "__main__":
    main()
