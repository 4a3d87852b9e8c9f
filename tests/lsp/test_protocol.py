"""The JSON-RPC and LSP lifecycle rules, over raw stdio and TCP: malformed frames,
requests out of order, exit status, a BOM, one TCP client, a private log file, and
memory that stays flat under a stream of notifications."""

from __future__ import annotations

import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from lsprotocol import types
from torchmode.lsp.server import inside
from torchmode.lsp.transport import parse_host_port

from .conftest import Starter
from .rawclient import CONSOLE_SCRIPT, FrameReader, RawServer, connect_tcp, frame
from .sources import TRAIN_EVAL
from .test_hostile import rss_mb


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[RawServer]:
    server = RawServer(tmp_path)
    yield server
    server.close()


def hover_message(uri: str, msg_id: int) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}}


@pytest.mark.parametrize(("name", "bad"), [
    ("length not a number", lambda m: frame(m, header="Content-Length: abc\r\n\r\n")),
    ("length too short", lambda m: frame(m, extra=-7)),
    ("length too long", lambda m: frame(m, extra=30)),
    ("length far too long", lambda m: frame(m, extra=100_000)),
    ("garbage", lambda m: b"GET / HTTP/1.1\r\n\r\n"),
])
def test_after_a_malformed_frame_the_server_answers_again(
    raw: RawServer, tmp_path: Path, name: str, bad: object
) -> None:
    raw.initialize()
    uri = (tmp_path / "x.py").as_uri()
    for _attempt in range(2):
        raw.send(bad(hover_message(uri, 1)))  # type: ignore[operator]
        assert raw.hover(uri) == {"jsonrpc": "2.0", "id": raw._next_id, "result": None}, name


@pytest.mark.parametrize("header", [
    "Content-Length:{n}\r\n\r\n",  # no space
    "Content-Length: {n}\n\n",  # LF only
    "content-length: {n}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n",
])
def test_lenient_headers_are_understood(raw: RawServer, tmp_path: Path, header: str) -> None:
    raw.initialize()
    answer = raw.request("textDocument/hover", hover_message(
        (tmp_path / "x.py").as_uri(), 0)["params"], header=header)
    assert answer["result"] is None and "error" not in answer


def test_lifecycle_errors_and_exit_status(raw: RawServer, tmp_path: Path) -> None:
    uri = (tmp_path / "x.py").as_uri()
    early = raw.hover(uri)
    assert early["error"]["code"] == types.ErrorCodes.ServerNotInitialized == -32002
    assert "capabilities" in raw.initialize()["result"]
    again = raw.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    assert again["error"]["code"] == types.ErrorCodes.InvalidRequest == -32600
    assert raw.request("shutdown")["result"] is None
    late = raw.hover(uri)
    assert late["error"]["code"] == -32600
    raw.notify("exit")
    assert raw.wait() == 0


def test_exit_without_shutdown_exits_1(raw: RawServer) -> None:
    raw.initialize()
    raw.notify("exit")
    assert raw.wait() == 1


def test_a_second_initialize_keeps_the_open_documents(raw: RawServer, tmp_path: Path) -> None:
    raw.initialize()
    uri = (tmp_path / "train.py").as_uri()
    raw.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": TRAIN_EVAL}})
    line = TRAIN_EVAL.splitlines().index("    out = model(x)")
    raw.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    deadline = time.monotonic() + 20
    while raw.hover(uri, line, 10).get("result") is None:  # `model`, once analysed
        assert time.monotonic() < deadline, "the document was dropped"
        time.sleep(0.2)


async def test_a_bom_at_the_start_of_a_document(start: Starter) -> None:
    session = await start(init_options={"debounceMs": 0})
    text = "model.eval\n" + TRAIN_EVAL
    uri = session.open("bom.py", "\ufeff" + text, write=False)
    plain = session.open("plain.py", text, write=False)
    with_bom = await session.diagnostics(uri, version=1)
    without = await session.diagnostics(plain, version=1)
    assert {d.code for d in with_bom} == {d.code for d in without} == {"TM001", "TM002", "TM004"}
    [tm004] = [d for d in with_bom if d.code == "TM004"]
    assert (tm004.range.start.character, tm004.range.end.character) == (1, 11)  # after the BOM
    assert sorted((d.code, d.range.start.line) for d in with_bom) == sorted(
        (d.code, d.range.start.line) for d in without)


def free_port(family: int = socket.AF_INET, host: str = "127.0.0.1") -> int:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def tcp_server(tmp_path: Path, address: str) -> Iterator[subprocess.Popen[bytes]]:
    """``torchmode server --tcp ADDRESS``; ends without a traceback on stderr."""
    proc = subprocess.Popen([CONSOLE_SCRIPT, "server", "--tcp", address], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        errors = proc.stderr.read()
        proc.stderr.close()
    assert b"Traceback" not in errors, errors.decode()


def tcp_client(port: int, host: str = "127.0.0.1") -> tuple[socket.socket, FrameReader]:
    sock = connect_tcp(host, port)
    return sock, FrameReader(lambda: sock.recv(65536))


def tcp_request(sock: socket.socket, reader: FrameReader, msg_id: int, method: str,
                params: object) -> dict[str, object]:
    sock.sendall(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
    return reader.answer(msg_id)


def test_tcp_serves_one_client_only(tmp_path: Path) -> None:
    port = free_port()
    with tcp_server(tmp_path, f"127.0.0.1:{port}") as proc:
        first, reader = tcp_client(port)
        init = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
        assert "result" in tcp_request(first, reader, 1, "initialize", init)
        second = connect_tcp("127.0.0.1", port)
        second.settimeout(10)
        assert second.recv(100) == b""  # closed at once
        uri = (tmp_path / "x.py").as_uri()
        assert tcp_request(first, reader, 2, "textDocument/hover",
                           hover_message(uri, 2)["params"])["result"] is None
        first.close()
        second.close()
        assert proc.wait(timeout=15) == 0


def test_tcp_on_ipv6_loopback(tmp_path: Path) -> None:
    try:
        port = free_port(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with tcp_server(tmp_path, f"[::1]:{port}"):
        sock, reader = tcp_client(port, "::1")
        init = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
        assert "result" in tcp_request(sock, reader, 1, "initialize", init)
        sock.close()


def test_host_port_forms() -> None:
    assert parse_host_port("127.0.0.1:2087") == ("127.0.0.1", 2087)
    assert parse_host_port("[::1]:2087") == ("::1", 2087)
    assert parse_host_port(":2087") == ("127.0.0.1", 2087)
    assert parse_host_port("::1:2087") is None
    assert parse_host_port("localhost") is None


@pytest.mark.parametrize("existing", [False, True])
def test_the_log_file_is_readable_by_its_owner_only(tmp_path: Path, existing: bool) -> None:
    log = tmp_path / "server.log"
    if existing:
        log.write_text("")
        log.chmod(0o644)
    server = RawServer(tmp_path, "--log-file", str(log), "-v")
    try:
        server.initialize()
        assert server.request("shutdown")["result"] is None
        server.notify("exit")
        assert server.wait() == 0
    finally:
        server.close()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert log.stat().st_size > 0


def test_watched_file_events_outside_the_workspace_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (tmp_path / "secret.py").write_text("x = 1\n")
    (root / "escape.py").symlink_to(tmp_path / "secret.py")
    roots = [str(root)]
    assert inside(str(root / "pkg" / "a.py"), roots)
    assert not inside(str(tmp_path / "secret.py"), roots)
    assert not inside(str(root / ".." / "secret.py"), roots)
    assert not inside(str(root / "escape.py"), roots)  # a link out of the workspace
    assert not inside(str(tmp_path / "ws2" / "a.py"), roots)  # a sibling with the same prefix


def test_notifications_do_not_accumulate_server_memory(raw: RawServer, tmp_path: Path) -> None:
    # pygls 2.1.1 kept a Future per notification forever (about 2 KB each).
    raw.initialize()
    uri = (tmp_path / "x.py").as_uri()
    raw.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}})

    def edits(first: int, count: int) -> bytes:
        return b"".join(frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": v},
            "contentChanges": [{"text": f"x = {v}\n"}]}}) for v in range(first, first + count))

    def send_edits(first: int, count: int) -> None:
        for start in range(first, first + count, 2000):
            raw.send(edits(start, 2000))
            raw.hover(uri)  # answered once every notification before it was handled

    send_edits(2, 8_000)  # warm up: lazy imports, caches, allocator pools
    before = rss_mb(raw.proc.pid)
    send_edits(8_002, 12_000)
    growth = rss_mb(raw.proc.pid) - before
    assert growth < 5, f"{growth:.1f} MB for 12,000 notifications"  # was 2 KB each


def test_the_server_ignores_watched_file_events_outside_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    log = tmp_path / "server.log"
    server = RawServer(root, "--log-file", str(log), "-v")
    try:
        server.initialize()
        server.notify("workspace/didChangeWatchedFiles", {"changes": [
            {"uri": outside.as_uri(), "type": 2}, {"uri": (root / "a.py").as_uri(), "type": 3}]})
        assert server.request("shutdown")["result"] is None
        server.notify("exit")
        assert server.wait() == 0
    finally:
        server.close()
    text = log.read_text()
    assert f"ignoring a watched-file event outside the workspace: {outside}" in text
    assert f"outside the workspace: {root / 'a.py'}" not in text
