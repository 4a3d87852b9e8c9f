"""The torchmode language server (``torchmode server``; ``--tcp HOST:PORT`` to debug).

Thin wiring over the engine (``torchmode.analyzer``), the fixes (``torchmode.fixes``)
and the hover texts (``torchmode.hover``), shaped like ruff's server:

- ``server``: the server object (session, engine client, one executor) and ``main``;
- ``session``: the only mutable state (documents, client capabilities, settings per
  workspace folder, what was published); hands out immutable ``DocumentSnapshot``s;
- ``handlers/``: one module per LSP method; ``dispatch`` registers them and runs each
  where it belongs (event loop with the session, or executor with a snapshot), every
  failure logged with its traceback and answered with an LSP error;
- ``engine_client``: the one way to the engine (analysis, fix verification, fix-all,
  the project index); ``engine``: its worker process (time budget, crash recovery) and
  in-process implementations;
- ``publish``: analysis outcome -> diagnostics and messages; ``configuration``:
  settings requests applied per folder; ``background``: workspace indexing, watched
  files, jedi lookups; ``verification``: deferred fix verification;
- ``protocol``: LSP lifecycle rules and a pygls leak fix; ``transport``: reading
  frames from stdio or one TCP client, recovering from malformed ones;
- ``scheduler``: per-document debounce, results for outdated versions dropped;
- ``documents``: text documents and notebooks (cells joined) as analysis snapshots;
- ``convert``: findings/edits <-> LSP values, position encodings;
- ``actions``: quick fixes, ignore-this-line, fix all; ``resolve``: jedi lookups;
- ``settings``: the editor settings, declared once; ``index``: workspace file discovery.

Settings (``initializationOptions`` or ``{"settings": ...}``, and section
``torchmode`` of ``workspace/configuration``, each resolved per workspace folder; an
empty list means "not set"): ``enable``, ``select``, ``ignore``, ``severity``
(``{"TM002": "hint"}``), ``fixAll.unsafe``, ``codeAction.disableRuleComment.enable``,
``debounceMs`` (200), ``hover.enable``, ``inlayHints.enable`` (off),
``configurationPreference`` (``editorFirst`` | ``filesystemFirst``); declared in
``settings.SETTINGS``.

Limits (environment): ``TORCHMODE_LSP_TIMEOUT`` (60 s per analysis or fix; a document
over it is left alone until saved), ``TORCHMODE_INDEX_FILE_LIMIT`` (5,000 files
indexed), ``TORCHMODE_WORKER_RSS_LIMIT_MB`` (600: the worker is replaced above it
after a document of 1 MB or more). Documents over 1 MB get no fixes.

Commands: ``torchmode.fixAll`` with ``[uri]`` or ``[{"uri": ..., "unsafe": bool}]``
(unsafe fixes included unless ``unsafe`` is false). Code action kinds: ``quickfix``,
``source.fixAll.torchmode`` (safe fixes only), ``notebook.source.fixAll.torchmode``.
"""
