"""The JSON-RPC side of the server: what pygls 2.1.1 leaves to us.

- Requests whose params do not match the LSP types get an error answer (pygls logs
  and drops them, and the client waits forever).
- The LSP lifecycle: a request before ``initialize`` gets -32002 (pygls answers
  -32603), a second ``initialize`` gets -32600 and changes nothing (pygls rebuilds the
  workspace, dropping every open document), a request after ``shutdown`` gets -32600
  (pygls drops it unanswered), and ``exit`` sets the exit status (0 after
  ``shutdown``, else 1).
- pygls keeps the Future of every notification in ``_request_futures`` under a fresh
  ``uuid4`` key and never removes it: about 2 KB per notification, for as long as the
  server runs (40,000 ``didChange`` took a server from 45 to 125 MB). Each future is
  removed here once its handler is done.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification

log = logging.getLogger(__name__)


class _Futures(dict[Any, "Future[Any]"]):
    """pygls iterates over the pending futures while cancelling them (``shutdown``), and
    a cancelled future's callback now removes it: iterate over a copy."""

    def items(self) -> Any:
        return list(super().items())


class TorchmodeProtocol(LanguageServerProtocol):
    """pygls' protocol with the lifecycle rules and the leak fix above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_futures = _Futures()
        self.initialize_received = False
        self.exit_code: int | None = None  # set by `exit`

    def structure_message(self, data: Any) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise
            method = data.get("method")
            cause = exc.__cause__ or exc
            error = JsonRpcInvalidParams(f"invalid params for {method}: {cause}".strip())
            self._send_response(data["id"], error=error.to_response_error())
            return JsonRPCNotification(method="$/torchmode/rejected", jsonrpc="2.0", params=None)

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if method == types.EXIT:
            self.exit_code = 0 if self._shutdown else 1
        elif method == types.INITIALIZE and is_request:
            if self.initialize_received:
                self._refuse(message, JsonRpcInvalidRequest("initialize was already received"))
                return
            self.initialize_received = True
        elif method is not None and not self.initialize_received:
            if is_request:  # notifications before initialize are dropped (LSP)
                self._refuse(message, JsonRpcServerNotInitialized("initialize first"))
            return
        elif is_request and self._shutdown:
            self._refuse(message, JsonRpcInvalidRequest("the server is shutting down"))
            return
        super().handle_message(message)

    def _refuse(self, message: Any, error: JsonRpcException) -> None:
        log.warning("refused %s: %s", getattr(message, "method", "?"), error)
        self._send_response(message.id, error=error.to_response_error())

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: Any = None,
        kwargs: Any = None,
    ) -> None:
        def finished(future: Future[Any]) -> None:
            try:
                callback(future)
            finally:
                if self._request_futures.get(msg_id) is future:
                    del self._request_futures[msg_id]

        super()._execute_handler(msg_id, handler, finished, args, kwargs)
