"""The real language server with one bug put in on purpose, for tests of how bugs
reach the user: ``python faulty_server.py rule|hover|did_save``.

- ``rule``: rule TM002 raises (run with ``TORCHMODE_LSP_ENGINE=thread``, so the
  analysis runs in this process and sees the broken rule);
- ``hover``: building a hover raises;
- ``did_save``: the ``textDocument/didSave`` handler raises.
"""

from __future__ import annotations

import sys
from typing import Any


def broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("broken on purpose")


def main() -> int:
    fault = sys.argv[1]
    if fault == "rule":
        from torchmode.rules import CHECKS

        CHECKS["TM002"] = broken
    elif fault == "hover":
        import torchmode.hover

        torchmode.hover.hover_info = broken  # type: ignore[assignment]
    elif fault == "did_save":
        from torchmode.lsp.handlers import did_save

        did_save.handle = broken  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown fault {fault!r}")
    from torchmode.lsp.server import main as serve

    return serve([])


if __name__ == "__main__":
    sys.exit(main())
