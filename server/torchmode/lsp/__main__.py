"""``python -m torchmode.lsp``: run the language server over stdio."""

import sys

from .server import main

if __name__ == "__main__":  # not when a spawned worker process re-imports this module
    sys.exit(main(sys.argv[1:]))
