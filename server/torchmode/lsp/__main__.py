"""``python -m torchmode.lsp``: run the language server over stdio."""

import sys

from .server import main

sys.exit(main(sys.argv[1:]))
