"""Registering the handlers with pygls, each wrapped the same way.

A handler module (``handlers/``) declares ``METHOD`` (an LSP method, or
``COMMAND`` for ``workspace/executeCommand``), optionally ``OPTIONS`` (the
capability pygls advertises), ``RUNS`` and one ``handle`` function:

- ``RUNS = ON_LOOP`` (the default): ``handle(ls, params)`` runs on the event loop
  with the server, i.e. the ``Session``; only these change state. It may be a
  coroutine and hand work to the executor with ``ls.in_background``.
- ``RUNS = SNAPSHOT`` / ``SNAPSHOT_ON_LOOP``: the module also has
  ``document_uri(params)`` and ``NOT_OPEN`` or ``not_open(params)`` (the answer
  for a document that is not open). A ``DocumentSnapshot`` is taken on the event
  loop and ``handle(snapshot, params, tools)`` runs on the executor (``SNAPSHOT``) or right
  away on the loop (``SNAPSHOT_ON_LOOP``: cheap answers that must not wait behind an
  analysis, e.g. hover). These never see the session.

Every handler is guarded: an exception is logged with its traceback and a request
is answered with an LSP error (``InvalidParams`` for a ``BadParams`` the handler
raised about its arguments, else ``InternalError``); a failed notification, which
has no answer to carry the error, is written to the editor's log. No request is
left unanswered.

Adding an LSP feature: a module in ``handlers/`` and its line in ``HANDLERS``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams

from ..findings import Finding
from ..settings import Settings
from .actions import FixVerifier
from .documents import Snapshot
from .engine_client import EngineClient

if TYPE_CHECKING:
    from .server import TorchmodeServer

log = logging.getLogger("torchmode.lsp")

ON_LOOP = "on loop"
SNAPSHOT = "snapshot"
SNAPSHOT_ON_LOOP = "snapshot on loop"


class BadParams(ValueError):
    """A request's parameters are not what the method accepts (answered InvalidParams)."""


@dataclass(frozen=True)
class Tools:
    """What a background handler may use besides its snapshot; all thread-safe."""

    engine: EngineClient
    verifier: FixVerifier
    # Verify a finding's fixes later, in the background (too slow to do inline).
    verify_later: Callable[[Snapshot, Finding, Settings], None]
    # A code action request for this document arrived: background verification waits.
    hold_verification: Callable[[str], None]
    # Tell the user once per document and topic: (document key, topic, message).
    tell_once: Callable[[str, str, str], None]
    # The open document at a URI, for fixes that edit another file (None: not open).
    open_document: Callable[[str], Snapshot | None]


def register(server: TorchmodeServer, modules: Iterable[ModuleType]) -> None:
    """Register each handler module with ``server``."""
    for module in modules:
        command = getattr(module, "COMMAND", None)
        wrapped = guarded(server, module)
        if command is not None:
            server.command(command)(wrapped)
        else:
            server.feature(module.METHOD, getattr(module, "OPTIONS", None))(wrapped)


def guarded(server: TorchmodeServer, module: ModuleType) -> Callable[..., Any]:
    """``module.handle`` run where it belongs, with every failure answered.

    What runs on the loop without waiting stays a plain function: pygls runs it as the
    message arrives, so notifications keep their order and hovers take no extra hop.
    """
    runs = getattr(module, "RUNS", ON_LOOP)
    name = getattr(module, "COMMAND", None) or module.METHOD
    failed = functools.partial(_failed, server, name, _is_request(module))
    handler: Callable[..., Any]
    if runs == SNAPSHOT_ON_LOOP or (
        runs == ON_LOOP and not inspect.iscoroutinefunction(module.handle)
    ):
        call = _with_snapshot(server, module) if runs == SNAPSHOT_ON_LOOP else _on_loop(
            server, module.handle
        )

        def handler(*args: Any) -> Any:
            try:
                return call(*args)
            except Exception as exc:
                return failed(exc)

    else:
        call_async = (
            _on_loop_async(server, module.handle) if runs == ON_LOOP
            else _in_background(server, module)
        )

        async def handler(*args: Any) -> Any:
            try:
                return await call_async(*args)
            except Exception as exc:
                return failed(exc)

    handler.__name__ = f"handle_{name.replace('/', '_').replace('.', '_')}"
    return handler


def _is_request(module: ModuleType) -> bool:
    return getattr(module, "COMMAND", None) is not None or module.METHOD in REQUESTS


def _failed(server: TorchmodeServer, name: str, is_request: bool, exc: Exception) -> None:
    """Log ``exc`` with its traceback; a request is answered with an LSP error (raised
    here for pygls to send), a notification's failure goes to the editor's log."""
    if isinstance(exc, JsonRpcException):
        error: JsonRpcException = exc
    elif isinstance(exc, BadParams):
        log.warning("%s: %s", name, exc)
        error = JsonRpcInvalidParams(str(exc))
    else:
        log.error("%s failed", name, exc_info=exc)
        error = JsonRpcInternalError(f"{name} failed: {type(exc).__name__}: {exc}")
    if is_request:
        raise error from (None if error is exc else exc)
    server.log_message(f"torchmode: {name} failed: {error.message}", types.MessageType.Error)


def _on_loop(server: TorchmodeServer, handle: Callable[..., Any]) -> Callable[..., Any]:
    return functools.partial(handle, server)


def _on_loop_async(server: TorchmodeServer, handle: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any) -> Any:
        return await handle(server, *args)

    return call


def _snapshot(server: TorchmodeServer, module: ModuleType, params: Any) -> Any:
    """The request's document snapshot (taken on the loop), or None if not open."""
    uri = module.document_uri(params)
    return server.session.snapshot(uri, server.report_problems) if uri else None


def _not_open(module: ModuleType, params: Any) -> Any:
    not_open = getattr(module, "not_open", None)
    return not_open(params) if not_open is not None else module.NOT_OPEN


def _with_snapshot(server: TorchmodeServer, module: ModuleType) -> Callable[..., Any]:
    def call(params: Any) -> Any:
        snapshot = _snapshot(server, module, params)
        if snapshot is None:
            return _not_open(module, params)
        return module.handle(snapshot, params, server.tools())

    return call


def _in_background(server: TorchmodeServer, module: ModuleType) -> Callable[..., Any]:
    async def call(params: Any) -> Any:
        snapshot = _snapshot(server, module, params)
        if snapshot is None:
            return _not_open(module, params)
        return await server.in_background(module.handle, snapshot, params, server.tools())

    return call


# Methods that expect an answer (the others are notifications).
REQUESTS = frozenset(
    {
        types.INITIALIZE,
        types.SHUTDOWN,
        types.TEXT_DOCUMENT_HOVER,
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CODE_ACTION_RESOLVE,
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.TEXT_DOCUMENT_INLAY_HINT,
        types.WORKSPACE_EXECUTE_COMMAND,
    }
)
