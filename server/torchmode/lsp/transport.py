"""Reading LSP frames from stdio or one TCP client, and recovering from bad ones.

pygls' reader trusts every frame: after one ``Content-Length: abc``, a wrong length,
a header without a space or LF-only headers it loses track of where messages start
and never answers again. ``FrameParser`` reads headers leniently (any case, optional
spaces, LF or CRLF) and, after a frame it cannot use, looks for the next
``Content-Length`` header and carries on. A raw CR LF CR LF (or LF LF) never occurs
inside a JSON body (JSON strings escape control characters), so header ends are
unambiguous.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

_HEADER_START = re.compile(rb"content-length", re.IGNORECASE)
_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9-]*[ \t]*:[^\r\n]*")
_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d{1,12})[ \t]*$", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
MAX_HEADER_BYTES = 8192
MAX_BODY_BYTES = 1 << 30
STALL_S = 0.5  # no more bytes for this long while a body is incomplete: check its length
READ_CHUNK = 1 << 16


class FrameParser:
    """Turns a byte stream into message bodies; bad frames are skipped and counted."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad_frames = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next(self) -> bytes | None:
        """The next complete body, None until more bytes arrive."""
        return self._next()

    def reject(self, body: bytes) -> None:
        """``body`` was not a JSON message: its length was wrong, so the next frame may
        start inside it. Put it back (after the header that is gone) and resynchronise."""
        self.bad_frames += 1
        self._buf[:0] = body

    def pending_body(self) -> bool:
        return _HEADER_START.search(self._buf) is not None

    def stalled(self) -> bytes | None:
        """The stream paused inside a body: if a complete JSON value is followed by the
        next header, the length was too large; take the value and go on."""
        match = _HEADER_START.match(self._buf)
        end = _HEADER_END.search(self._buf)
        if match is None or end is None:
            return None
        start = end.end()
        following = _HEADER_START.search(self._buf, start)
        if following is None:
            return None
        candidate = bytes(self._buf[start:following.start()]).strip()
        try:
            json.loads(candidate)
        except ValueError:
            return None
        self.bad_frames += 1
        del self._buf[:following.start()]
        return candidate

    def _next(self) -> bytes | None:
        while True:
            match = _HEADER_START.search(self._buf)
            if match is None:
                self._drop(max(0, len(self._buf) - len(b"content-length")))
                return None
            if match.start():
                self._drop(match.start())
            end = _HEADER_END.search(self._buf, 0, MAX_HEADER_BYTES)
            if end is None:
                if len(self._buf) > MAX_HEADER_BYTES:
                    self._skip_header_start()
                    continue
                return None
            length = self._length(bytes(self._buf[: end.start()]))
            if length is None:
                self._skip_header_start()
                continue
            if len(self._buf) < end.end() + length:
                return None
            body = bytes(self._buf[end.end(): end.end() + length])
            del self._buf[: end.end() + length]
            return body

    @staticmethod
    def _length(header: bytes) -> int | None:
        """The body length named by a header block, None if the block is not a header."""
        length = None
        for line in re.split(rb"\r?\n", header):
            if not _HEADER_LINE.fullmatch(line):
                return None
            found = _LENGTH.match(line)
            if found is not None:
                length = int(found.group(1))
        if length is None or length > MAX_BODY_BYTES:
            return None
        return length

    def _skip_header_start(self) -> None:
        log.warning("skipping a malformed message header")
        self.bad_frames += 1
        self._drop(len(b"content-length"))

    def _drop(self, count: int) -> None:
        if count and bytes(self._buf[:count]).strip():
            log.warning("skipping %d bytes that are not an LSP message", count)
        del self._buf[:count]


async def serve(
    read: Callable[[], Awaitable[bytes]],
    protocol: Any,
    stop: threading.Event,
    on_error: Callable[[Exception, Any], Any] | None = None,
) -> None:
    """Hand each message of the stream to ``protocol`` until EOF, ``stop`` or ``exit``."""
    parser = FrameParser()
    pending: asyncio.Future[bytes] | None = None
    while not stop.is_set():
        if pending is None:
            pending = asyncio.ensure_future(read())
        done, _ = await asyncio.wait({pending}, timeout=STALL_S)
        if done:
            data = pending.result()
            pending = None
            if not data:
                return
            parser.feed(data)
            body = parser.next()
        else:
            body = parser.stalled() if parser.pending_body() else None
        while body is not None:
            if not _dispatch(body, parser, protocol, on_error):
                return
            body = parser.next()


def _dispatch(body: bytes, parser: FrameParser, protocol: Any, on_error: Any) -> bool:
    """Handle one body; False once the server is to stop (``exit``)."""
    try:
        message = json.loads(body, object_hook=protocol.structure_message)
    except ValueError:
        log.warning("a message body is not JSON (%d bytes); resynchronising", len(body))
        parser.reject(body)
        return True
    except Exception as exc:
        _report("unable to read a message", exc, on_error)
        return True
    try:
        protocol.handle_message(message)
    except SystemExit:
        return False
    except Exception as exc:
        _report("unable to handle a message", exc, on_error)
    return True


def _report(what: str, exc: Exception, on_error: Any) -> None:
    from pygls.exceptions import JsonRpcException

    log.exception(what)
    if on_error is not None:
        on_error(exc, JsonRpcException)


def stdin_reader(fd: int) -> Callable[[], Awaitable[bytes]]:
    """Chunks of ``fd`` read on a thread of its own (never the server's pools)."""
    executor = ThreadPoolExecutor(1, thread_name_prefix="torchmode-stdin")

    def read() -> Awaitable[bytes]:
        return asyncio.get_running_loop().run_in_executor(executor, os.read, fd, READ_CHUNK)

    return read


def run_stdio(server: Any) -> None:
    """Serve the client on stdin/stdout until ``exit`` or EOF."""
    import sys

    from pygls.io_ import StdoutWriter

    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    read = stdin_reader(sys.stdin.fileno())
    try:
        asyncio.run(serve(read, server.protocol, stop, server.report_server_error))
    except BrokenPipeError:
        log.error("the connection to the client is lost")
    finally:
        stop.set()


def run_tcp(server: Any, host: str, port: int) -> None:
    """Serve one client on ``host:port`` (a debugging aid). A second connection is
    refused while the first is open: it would take over the first client's output."""
    server._stop_event = stop = threading.Event()
    connected = False
    listener: Any = None

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connected
        if connected:
            log.warning("refusing a second client from %s", writer.get_extra_info("peername"))
            writer.close()
            return
        connected = True
        server.protocol.set_writer(writer)
        try:
            await serve(lambda: reader.read(READ_CHUNK), server.protocol, stop,
                        server.report_server_error)
        finally:
            stop.set()
            listener.close()

    async def main() -> None:
        nonlocal listener
        listener = await asyncio.start_server(connection, host, port)
        addresses = ", ".join(str(sock.getsockname()) for sock in listener.sockets)
        log.info("listening on %s", addresses)
        try:
            await listener.serve_forever()
        except asyncio.CancelledError:
            pass

    asyncio.run(main())


def parse_host_port(text: str) -> tuple[str, int] | None:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``:PORT`` (127.0.0.1); None if malformed."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        return None  # an IPv6 address needs brackets: [::1]:PORT
    return host or "127.0.0.1", int(port)
