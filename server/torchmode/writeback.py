"""Writing a fixed file back without losing or misplacing anything (``check --fix``).

What a user expects of a formatter: the file a symlink points to is fixed (the
link stays a link); hard links stay linked; owner, group and mode are kept; a
read-only file is left alone and reported; and a file that another program
changed while torchmode was fixing it is not overwritten (its bytes are hashed
when read and hashed again right before the write).

A single-link file is replaced through a fsynced temporary file in its folder, so
it is never seen half-written. Where a replacement would change what the file is
(more than one hard link, an owner we cannot give the new file, a folder we cannot
create files in), the bytes are written in place instead.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass


class NotWritten(Exception):
    """The file was left unchanged; the message is a one-line reason for the user."""


@dataclass(frozen=True)
class ReadFile:
    """The bytes of a file as read, and what is needed to write it back safely."""

    path: str  # as the user named it
    target: str  # the regular file behind it (symlinks resolved)
    data: bytes
    digest: str


def read_file(path: str, data: bytes | None = None) -> ReadFile:
    """Read ``path`` (following symlinks; ``data``: its bytes, read already); raises
    ``OSError``."""
    target = os.path.realpath(path)
    if data is None:
        with open(target, "rb") as handle:
            data = handle.read()
    return ReadFile(path, target, data, _digest(data))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_files(changes: list[tuple[ReadFile, bytes]]) -> None:
    """Write several files of one fix (a complete fix with its partner edit in another
    file): every file is checked (regular, writable, unchanged since read) before any
    is written, so a read-only or edited partner leaves all of them as they were."""
    for original, _ in changes:
        _writable(original)
        _check_unchanged(original)
    for original, data in changes:
        write_file(original, data)


def write_file(original: ReadFile, data: bytes) -> None:
    """Replace the contents of ``original.target`` with ``data``; raises ``NotWritten``
    (nothing changed, reason in the message) or ``OSError`` (the write itself failed,
    the file is unchanged when it was replaced through a temporary file)."""
    target = original.target
    info = _writable(original)
    if _replaceable(target, info):
        _replace(original, data, info)
    else:
        _overwrite(original, data)


def _writable(original: ReadFile) -> os.stat_result:
    """The target's status when it is a regular file we may write; else ``NotWritten``."""
    try:
        info = os.stat(original.target)
    except OSError as exc:
        raise NotWritten(f"cannot fix: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotWritten("not fixed: no longer a regular file")
    if not info.st_mode & 0o222 or not os.access(original.target, os.W_OK):
        raise NotWritten("read-only file, not fixed")
    return info


def _replaceable(target: str, info: os.stat_result) -> bool:
    """A new file can take the place of ``target`` and be indistinguishable from it."""
    if info.st_nlink != 1:
        return False  # a replacement would break the other links
    if not os.access(os.path.dirname(target), os.W_OK | os.X_OK):
        return False
    if not hasattr(os, "geteuid"):  # Windows: no owners to keep
        return True
    same_owner = info.st_uid == os.geteuid() and info.st_gid in (os.getegid(), *os.getgroups())
    return same_owner or os.geteuid() == 0  # only root may give a file to someone else


def _check_unchanged(original: ReadFile) -> None:
    try:
        with open(original.target, "rb") as handle:
            current = handle.read()
    except OSError as exc:
        raise NotWritten(f"cannot fix: {exc.strerror or exc}") from None
    if _digest(current) != original.digest:
        raise NotWritten("changed on disk while being fixed; not fixed (run again)")


def _replace(original: ReadFile, data: bytes, info: os.stat_result) -> None:
    target = original.target
    folder, name = os.path.split(target)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if hasattr(os, "fchown") and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                os.fchown(handle.fileno(), info.st_uid, info.st_gid)
            os.chmod(temp, stat.S_IMODE(info.st_mode))
            os.fsync(handle.fileno())
        _check_unchanged(original)  # last moment before the switch
        os.replace(temp, target)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise


def _overwrite(original: ReadFile, data: bytes) -> None:
    """Write the bytes into the existing file (same inode: links, owner, mode kept)."""
    with open(original.target, "r+b") as handle:
        current = handle.read()
        if _digest(current) != original.digest:
            raise NotWritten("changed on disk while being fixed; not fixed (run again)")
        handle.seek(0)
        handle.write(data)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
