"""``python -m torchmode``: same as the ``torchmode`` console script."""

from torchmode.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
