"""A JSON-RPC client that writes raw bytes to the real server (malformed frames
included) and reads its frames back, with timeouts."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CONSOLE_SCRIPT = os.path.join(os.path.dirname(sys.executable), "torchmode")
STARTUP_TIMEOUT = 90.0


def frame(message: dict[str, Any], *, extra: int = 0,
          header: str = "Content-Length: {n}\r\n\r\n") -> bytes:
    """A frame whose header names the body's length plus ``extra`` (a wrong length)."""
    body = json.dumps(message).encode()
    return header.format(n=len(body) + extra).encode() + body


class FrameReader:
    """Parses well-formed frames from the server's output on a thread."""

    def __init__(self, read: Any) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []  # everything but the answers waited for
        self._read = read
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self._read()
            except OSError:  # the test closed the connection
                return
            if not chunk:
                return
            buf += chunk
            while b"\r\n\r\n" in buf:
                head, rest = buf.split(b"\r\n\r\n", 1)
                size = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(rest) < size:
                    break
                self.messages.put(json.loads(rest[:size]))
                buf = rest[size:]

    def answer(self, msg_id: Any, timeout: float = 20.0) -> dict[str, Any]:
        """The response to request ``msg_id`` (other messages are kept aside)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=0.1)
            except queue.Empty:
                continue
            if message.get("id") == msg_id and "method" not in message:
                return message
            self.seen.append(message)
        raise AssertionError(f"no answer to {msg_id} within {timeout}s")


class RawServer:
    """``torchmode server`` over stdio, driven byte by byte."""

    def __init__(self, root: Path, *args: str) -> None:
        self._stderr = tempfile.TemporaryFile()  # a pipe nobody reads could fill and block
        self.proc = subprocess.Popen(
            [CONSOLE_SCRIPT, "server", *args], cwd=root, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr,
        )
        assert self.proc.stdout is not None
        stdout = self.proc.stdout.fileno()
        self.reader = FrameReader(lambda: os.read(stdout, 65536))
        self.root = root
        self._next_id = 100

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def request(self, method: str, params: Any = None, *, timeout: float = 20.0,
                **frame_options: Any) -> dict[str, Any]:
        self._next_id += 1
        msg_id = self._next_id
        self.send(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params},
                        **frame_options))
        return self.reader.answer(msg_id, timeout)

    def notify(self, method: str, params: Any = None) -> None:
        self.send(frame({"jsonrpc": "2.0", "method": method, "params": params}))

    def initialize(self) -> dict[str, Any]:
        # The first answer waits on the server's imports, slow on a loaded machine: these
        # tests judge the protocol, not the start-up time.
        answer = self.request("initialize", timeout=STARTUP_TIMEOUT, params={
            "processId": None, "rootUri": self.root.as_uri(), "capabilities": {},
            "workspaceFolders": [{"uri": self.root.as_uri(), "name": "root"}],
        })
        self.notify("initialized", {})
        return answer

    def hover(self, uri: str, line: int = 0, character: int = 0) -> dict[str, Any]:
        return self.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character}})

    def wait(self, timeout: float = 15.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


def connect_tcp(host: str, port: int, timeout: float = 20.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
