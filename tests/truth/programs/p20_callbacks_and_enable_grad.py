"""A callback handed to a trainer runs while the trainer trains the model; a method
decorated with @torch.enable_grad() re-enables gradients in that method only."""
import torch
import torch.nn as nn


class Trainer:
    """minGPT's Trainer in miniature: run() puts the model in train mode and calls the
    registered callbacks after each training step."""

    def __init__(self, config, model, batches):
        self.model = model
        self.batches = batches
        self.callbacks = []
        self.optimizer = torch.optim.SGD(model.parameters(), lr=config)
        self.iter_num = 0

    def set_callback(self, onevent, callback):
        self.callbacks = [callback]

    def run(self):
        model = self.model
        model.train()
        for x in self.batches:
            loss = model(x).sum()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self.iter_num += 1
            for callback in self.callbacks:
                callback(self)


class Attack:
    def __init__(self, model):
        self.model = model

    @torch.enable_grad()
    def saliency(self, x):
        x = x.clone().requires_grad_(True)
        self.model(x).sum().backward()  # truth: eval grad
        return x.grad


def main():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    data = [torch.randn(2, 4) for _ in range(2)]
    model.eval()   # the trainer switches it back to train mode
    trainer = Trainer(0.1, model, data)

    def batch_end_callback(trainer):
        with torch.no_grad():
            print(model(data[0]).shape)  # truth: train no_grad

    trainer.set_callback("on_batch_end", batch_end_callback)
    trainer.run()

    model.eval()
    with torch.no_grad():
        Attack(model).saliency(data[0])
    for x in data:
        model(x)  # truth: eval grad


main()
