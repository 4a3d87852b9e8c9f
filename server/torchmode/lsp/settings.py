"""Editor settings of the language server.

They arrive in ``initializationOptions``, from ``workspace/configuration`` (section
``torchmode``) and with ``workspace/didChangeConfiguration``. Every key is checked on
its own: an invalid value falls back to that key's default and is reported once
(the caller logs ``problems`` with ``window/logMessage``), never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..findings import Severity
from ..settings import ALL_CODES, DEFAULT_SETTINGS, Settings

EDITOR_FIRST = "editorFirst"
FILESYSTEM_FIRST = "filesystemFirst"
MAX_DEBOUNCE_MS = 10_000


@dataclass(frozen=True)
class LspSettings:
    """What the editor asked for. ``None`` for select/ignore means "not set"."""

    enable: bool = True
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    severity: tuple[tuple[str, Severity], ...] = ()
    fix_all_unsafe: bool = False
    disable_rule_comment: bool = True
    debounce_ms: int = 200
    hover_enable: bool = True
    inlay_hints_enable: bool = False
    configuration_preference: str = EDITOR_FIRST
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def debounce_s(self) -> float:
        return self.debounce_ms / 1000.0


DEFAULT_LSP_SETTINGS = LspSettings()


def _lookup(raw: Mapping[str, Any], dotted: str) -> Any:
    """Value of ``fixAll.unsafe`` given nested dicts or a flat dotted key."""
    if dotted in raw:
        return raw[dotted]
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


_MISSING = object()


def _codes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of rule codes")
    codes = tuple(v.strip().upper() for v in value)
    for code in codes:
        if not any(full.startswith(code) for full in ALL_CODES) or not code.startswith("TM"):
            raise ValueError(f"unknown rule code {code!r}")
    return codes


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("expected true or false")


def _debounce(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("expected a number of milliseconds")
    if not 0 <= value <= MAX_DEBOUNCE_MS:
        raise ValueError(f"expected 0..{MAX_DEBOUNCE_MS} ms")
    return int(value)


def _severity(value: Any) -> tuple[tuple[str, Severity], ...]:
    if not isinstance(value, Mapping):
        raise ValueError('expected an object like {"TM002": "hint"}')
    out = []
    for code, label in value.items():
        if code not in ALL_CODES:
            raise ValueError(f"unknown rule code {code!r}")
        if not isinstance(label, str):
            raise ValueError(f"severity of {code} must be a string")
        out.append((code, Severity.from_label(label)))
    return tuple(sorted(out))


def _preference(value: Any) -> str:
    if value not in (EDITOR_FIRST, FILESYSTEM_FIRST):
        raise ValueError(f"expected {EDITOR_FIRST!r} or {FILESYSTEM_FIRST!r}")
    return str(value)


_FIELDS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("enable", "enable", _bool),
    ("select", "select", _codes),
    ("ignore", "ignore", _codes),
    ("severity", "severity", _severity),
    ("fixAll.unsafe", "fix_all_unsafe", _bool),
    ("codeAction.disableRuleComment.enable", "disable_rule_comment", _bool),
    ("debounceMs", "debounce_ms", _debounce),
    ("hover.enable", "hover_enable", _bool),
    ("inlayHints.enable", "inlay_hints_enable", _bool),
    ("configurationPreference", "configuration_preference", _preference),
)


def unwrap(raw: Any) -> Any:
    """Accept ``{"torchmode": {...}}``, ``{"settings": {...}}`` or the bare object."""
    for key in ("torchmode", "settings"):
        if isinstance(raw, Mapping) and isinstance(raw.get(key), Mapping):
            raw = raw[key]
    return raw


def merge(base: Any, override: Any) -> Any:
    """``override`` on top of ``base`` (nested objects merged key by key).

    The editor's ``workspace/configuration`` answer goes on top of
    ``initializationOptions``: a client that sends only some keys one way keeps the rest.
    """
    base, override = unwrap(base), unwrap(override)
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return override if override is not None else base
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out.get(key), value) if isinstance(value, Mapping) else value
    return out


def parse_settings(raw: Any) -> LspSettings:
    """Parse editor settings; each invalid key keeps its default and adds a problem."""
    raw = unwrap(raw)
    if raw is None:
        return DEFAULT_LSP_SETTINGS
    if not isinstance(raw, Mapping):
        return replace(DEFAULT_LSP_SETTINGS, problems=("settings must be an object",))
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, attr, convert in _FIELDS:
        value = _lookup(raw, key)
        if value is _MISSING or value is None:
            continue
        try:
            values[attr] = convert(value)
        except ValueError as exc:
            problems.append(f"torchmode.{key}: {exc}; using the default")
    return LspSettings(**values, problems=tuple(problems))


def engine_settings(lsp: LspSettings, project_settings: Settings | None) -> Settings:
    """The engine ``Settings`` for one file.

    ``project_settings`` is what ``pyproject.toml`` says (``None``: no
    ``[tool.torchmode]`` table found). ``editorFirst``: the editor's select /
    ignore / severity win where set, pyproject fills the rest. ``filesystemFirst``:
    a pyproject configuration is used as is; editor values only apply without one.
    """
    base = project_settings or DEFAULT_SETTINGS
    if lsp.configuration_preference == FILESYSTEM_FIRST and project_settings is not None:
        return project_settings
    changes: dict[str, Any] = {}
    if lsp.select is not None:
        changes["select"] = lsp.select
    if lsp.ignore is not None:
        changes["ignore"] = lsp.ignore
    if lsp.severity:
        changes["severity"] = {**base.severity, **dict(lsp.severity)}
    return replace(base, **changes) if changes else base
