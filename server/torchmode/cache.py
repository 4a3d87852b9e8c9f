"""The on-disk cache of ``torchmode check``: ``.torchmode_cache/`` beside ``pyproject.toml``.

What is stored are values of pure functions of a file's content (its summary, the
calls it makes into other files, its report) under a key of everything they depend
on: the file's bytes, its module path, the settings, and the engine itself (its
version and a digest of its source, so an upgraded or edited torchmode never reads
an older engine's entries). What a value read from the other files is checked when
it is used (``reads.py``), not trusted from the key.

Several runs may share one folder at once: an entry is written to a temporary file
and renamed over its name (readers see a whole entry or none), and an entry that
cannot be read (truncated, corrupt, from another Python) is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from typing import Any

from . import __version__

CACHE_DIR_NAME = ".torchmode_cache"
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by torchmode.\n"
        "# For information about cache directory tags, see https://bford.info/cachedir/\n")
_ENGINE_TAG: str | None = None


def engine_tag() -> str:
    """The torchmode version and a digest of its source files: entries of another
    engine are never read (an edited engine in development changes the digest)."""
    global _ENGINE_TAG
    if _ENGINE_TAG is None:
        root = os.path.dirname(os.path.abspath(__file__))
        digest = hashlib.blake2b(digest_size=8)
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".md")):
                    path = os.path.join(folder, name)
                    digest.update(os.path.relpath(path, root).encode())
                    with open(path, "rb") as handle:
                        digest.update(handle.read())
        _ENGINE_TAG = f"{__version__}-{digest.hexdigest()}"
    return _ENGINE_TAG


def default_cache_dir(start: str | None = None) -> str:
    """``.torchmode_cache`` in the folder of the nearest ``pyproject.toml`` at or above
    ``start`` (the current folder), else in ``start`` itself."""
    here = os.path.abspath(start or os.getcwd())
    current = here
    while True:
        if os.path.isfile(os.path.join(current, "pyproject.toml")):
            return os.path.join(current, CACHE_DIR_NAME)
        parent = os.path.dirname(current)
        if parent == current:
            return os.path.join(here, CACHE_DIR_NAME)
        current = parent


def content_key(*parts: object) -> str:
    """A fixed-length key of strings and bytes (``repr`` of anything else)."""
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


class DiskCache:
    """Entries by kind and key under ``root/<engine tag>/``; see the module docstring."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.folder = os.path.join(self.root, engine_tag())
        self._prepared = False

    def _path(self, kind: str, key: str) -> str:
        return os.path.join(self.folder, kind, key[:2], key)

    def get(self, kind: str, key: str) -> Any:
        """The stored value, or None (absent, unreadable or corrupt)."""
        try:
            with open(self._path(kind, key), "rb") as handle:
                return pickle.load(handle)
        except Exception:  # a miss: absent, truncated, or written by something else
            return None

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store ``value``; a cache that cannot be written is left alone (the run goes on)."""
        path = self._path(kind, key)
        try:
            self._prepare()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temp, path)
            except BaseException:
                _remove(temp)
                raise
        except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
            pass

    def _prepare(self) -> None:
        """The folder ignores itself in git and is tagged as a cache for backup tools."""
        if self._prepared:
            return
        os.makedirs(self.folder, exist_ok=True)
        for name, text in ((".gitignore", "# created by torchmode\n*\n"), ("CACHEDIR.TAG", _TAG)):
            path = os.path.join(self.root, name)
            if not os.path.exists(path):
                try:
                    with open(path, "x", encoding="utf-8") as handle:
                        handle.write(text)
                except OSError:  # another run wrote it first
                    pass
        self._prepared = True


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
