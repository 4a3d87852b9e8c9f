"""Evaluation helpers shared by the training scripts."""
import torch
import torch.nn.functional as F


@torch.no_grad()
def evaluate(model, loader):
    """Accuracy and mean loss; leaves the model in the mode it was in."""
    was_training = model.training
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    for images, labels in loader:
        logits = model(images)
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(1) == labels).sum().item()
        total += labels.numel()
    model.train(was_training)
    return correct / total, loss_sum / total
