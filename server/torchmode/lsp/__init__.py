"""The torchmode language server. ``torchmode.lsp.server.main`` is the entry point."""
