"""torchmode: finds and fixes PyTorch train/eval and grad-mode mistakes."""

__version__ = "0.1.0"
