"""``[tool.torchmode]`` in ``pyproject.toml``: find it, validate it, turn it into ``Settings``.

The nearest ``pyproject.toml`` that has a ``[tool.torchmode]`` table, walking up
from the analysed file, wins (a ``pyproject.toml`` without the table is passed
over, as ruff and mypy do). Keys::

    [tool.torchmode]
    select = ["TM001", "TM002"]         # codes or prefixes ("TM00"); default: all
    ignore = ["TM005"]
    severity = { TM002 = "info" }        # error / warning / info / hint
    evaluation-function-names = ["score_*"]
    evaluation-loader-names = ["*_holdout_*"]
    exclude = ["third_party/**", "generated_*.py"]

``exclude`` globs are relative to the folder of that ``pyproject.toml``; a
pattern without ``/`` matches a file or folder name at any depth. They are
stored in ``Settings.exclude`` made absolute (``<root>/<pattern>``, or
``<root>/**/<pattern>``) so that ``is_excluded`` needs no other context.

Anything unknown (key, code, severity, wrong type) raises ``ConfigError`` naming
the file: a typo in configuration must not silently turn a rule off.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .findings import Severity
from .settings import ALL_CODES, DEFAULT_SETTINGS, Settings

KNOWN_KEYS = (
    "select",
    "ignore",
    "severity",
    "evaluation-function-names",
    "evaluation-loader-names",
    "exclude",
    "show-hints",
)


class ConfigError(Exception):
    """Invalid torchmode configuration; the message names the file and the problem."""


def check_code(code: str, where: str) -> str:
    """Validate a code or code prefix (``TM001``, ``TM00``, ``TM``); returns it upper-cased."""
    upper = code.strip().upper()
    if not upper or not any(c.startswith(upper) for c in ALL_CODES):
        known = ", ".join(ALL_CODES)
        raise ConfigError(f"{where}: unknown rule code {code!r} (known: {known})")
    return upper


# --- finding the file -------------------------------------------------------------

_dir_cache: dict[str, str | None] = {}
_file_cache: dict[str, tuple[tuple[int, int], Settings | None]] = {}


def clear_cache() -> None:
    """Forget every looked-up folder and parsed file (tests, editor config changes)."""
    _dir_cache.clear()
    _file_cache.clear()


def _settings_of(pyproject: str) -> Settings | None:
    """Settings of ``pyproject`` if it has ``[tool.torchmode]``, else None (cached by mtime)."""
    try:
        stat = os.stat(pyproject)
    except OSError:
        return None
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _file_cache.get(pyproject)
    if cached is not None and cached[0] == key:
        return cached[1]
    settings = _parse_pyproject(pyproject)
    _file_cache[pyproject] = (key, settings)
    return settings


def find_config(directory: str) -> str | None:
    """The nearest ``pyproject.toml`` with ``[tool.torchmode]`` at or above ``directory``."""
    directory = os.path.abspath(directory)
    visited: list[str] = []
    found: str | None = None
    current = directory
    while True:
        if current in _dir_cache:
            found = _dir_cache[current]
            break
        visited.append(current)
        candidate = os.path.join(current, "pyproject.toml")
        if os.path.isfile(candidate) and _settings_of(candidate) is not None:
            found = candidate
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in visited:
        _dir_cache[folder] = found
    return found


def load_settings(file_path: str | os.PathLike[str]) -> Settings:
    """Settings for ``file_path``: its nearest ``[tool.torchmode]``, else the defaults.

    Raises ``ConfigError`` when that table is invalid.
    """
    path = os.path.abspath(os.fspath(file_path))
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    config = find_config(directory)
    if config is None:
        return DEFAULT_SETTINGS
    settings = _settings_of(config)
    return settings if settings is not None else DEFAULT_SETTINGS


# --- parsing ----------------------------------------------------------------------


def _parse_pyproject(pyproject: str) -> Settings | None:
    # Imported here: most runs never read a pyproject.toml, and start-up time counts.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(pyproject, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc.strerror or exc}") from None
    table = data.get("tool", {}).get("torchmode") if isinstance(data.get("tool"), dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.torchmode] must be a table")
    return settings_from_table(table, pyproject)


def _string_list(table: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def settings_from_table(table: dict[str, Any], where: str) -> Settings:
    """Validate a ``[tool.torchmode]`` table (also used for editor settings) into ``Settings``.

    ``where`` names the source in error messages; when it is a path, ``exclude``
    patterns are made relative to its folder.
    """
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        hint = _suggest(unknown[0])
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} in [tool.torchmode]{hint} "
            f"(known keys: {', '.join(KNOWN_KEYS)})"
        )
    settings = DEFAULT_SETTINGS
    select = _string_list(table, "select", where)
    if select is not None:
        codes = tuple(check_code(c, f"{where}: select") for c in select)
        settings = replace(settings, select=codes)
    ignore = _string_list(table, "ignore", where)
    if ignore is not None:
        codes = tuple(check_code(c, f"{where}: ignore") for c in ignore)
        settings = replace(settings, ignore=codes)
    if "severity" in table:
        settings = replace(settings, severity=_severity_table(table["severity"], where))
    functions = _string_list(table, "evaluation-function-names", where)
    if functions is not None:
        settings = replace(settings, evaluation_function_names=functions)
    loaders = _string_list(table, "evaluation-loader-names", where)
    if loaders is not None:
        settings = replace(settings, evaluation_loader_names=loaders)
    exclude = _string_list(table, "exclude", where)
    if exclude is not None:
        root = os.path.dirname(os.path.abspath(where)) if os.path.exists(where) else os.getcwd()
        settings = replace(settings, exclude=tuple(absolute_pattern(root, p) for p in exclude))
    if "show-hints" in table:
        if not isinstance(table["show-hints"], bool):
            raise ConfigError(f"{where}: 'show-hints' must be true or false")
        settings = replace(settings, show_hints=table["show-hints"])
    return settings


def _severity_table(value: Any, where: str) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'severity' must be a table like {{ TM002 = \"info\" }}")
    result: dict[str, Severity] = {}
    for code, label in value.items():
        upper = code.strip().upper()
        if upper not in ALL_CODES:
            raise ConfigError(
                f"{where}: severity: unknown rule code {code!r} (known: {', '.join(ALL_CODES)})"
            )
        if not isinstance(label, str):
            raise ConfigError(f"{where}: severity.{code} must be a string")
        try:
            result[upper] = Severity.from_label(label)
        except ValueError as exc:
            raise ConfigError(f"{where}: severity.{code}: {exc}") from None
    return result


def _suggest(key: str) -> str:
    normalized = key.replace("_", "-").lower()
    if normalized in KNOWN_KEYS:
        return f" (did you mean {normalized!r}?)"
    return ""


# --- CLI overrides ------------------------------------------------------------------


def merge_cli(settings: Settings, select: list[str] | None, ignore: list[str] | None) -> Settings:
    """Apply ``--select``/``--ignore`` on top of file settings.

    ``--select`` replaces the file's ``select``; the file's ``ignore`` still
    applies except to codes that ``--select`` names exactly (an explicit
    ``--select TM005`` shows TM005 even when the project ignores it).
    ``--ignore`` adds to the file's ``ignore``. Raises ``ConfigError`` on unknown codes.
    """
    if select:
        chosen = tuple(check_code(c, "--select") for c in select)
        kept = tuple(i for i in settings.ignore if i not in chosen)
        settings = replace(settings, select=chosen, ignore=kept)
    if ignore:
        extra = tuple(check_code(c, "--ignore") for c in ignore)
        settings = replace(settings, ignore=settings.ignore + extra)
    return settings


def split_codes(values: list[str] | None) -> list[str] | None:
    """``["TM001,TM002", "TM003"]`` -> ``["TM001", "TM002", "TM003"]`` (argparse ``append``)."""
    if not values:
        return None
    return [c for v in values for c in re.split(r"[\s,]+", v) if c]


# --- exclude globs ------------------------------------------------------------------


def absolute_pattern(root: str, pattern: str) -> str:
    """Make a pyproject-relative glob absolute; a pattern without ``/`` matches at any depth."""
    pattern = pattern.strip().replace(os.sep, "/")
    base = Path(root).as_posix().rstrip("/")
    if pattern.startswith("/"):
        return base + pattern
    if pattern.startswith("./"):
        return f"{base}/{pattern[2:]}"
    if "/" not in pattern.rstrip("/"):
        return f"{base}/**/{pattern.rstrip('/')}"
    return f"{base}/{pattern.rstrip('/')}"


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob with ``**`` (any number of folders), ``*``, ``?``, ``[...]``."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            close = pattern.find("]", i + 1)
            if close < 0:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : close].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = close + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def is_excluded(path: str | os.PathLike[str], settings: Settings) -> bool:
    """True when ``path`` or one of its parent folders matches an ``exclude`` glob."""
    if not settings.exclude:
        return False
    full = Path(os.path.abspath(os.fspath(path))).as_posix()
    candidates = [full]
    parent = full
    while True:
        head = parent.rsplit("/", 1)[0]
        if not head or head == parent:
            break
        candidates.append(head)
        parent = head
    return any(_glob_regex(p).match(c) for p in settings.exclude for c in candidates)
