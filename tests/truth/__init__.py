"""Checks of torchmode's model of PyTorch against real PyTorch runs."""
