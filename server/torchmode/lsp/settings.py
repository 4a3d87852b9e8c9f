"""Editor settings of the language server, declared once.

``SETTINGS`` is the one table of what an editor may set (key, JSON type, default,
documentation, how a value is checked). ``package.json``'s contributed configuration
is checked against it by a test, the dataclass defaults come from it, and any
editor may send raw values: the server owns the defaults and the validation.

Values arrive in ``initializationOptions``, from ``workspace/configuration``
(section ``torchmode``, globally and per workspace folder) and with
``workspace/didChangeConfiguration``. Every key is checked on its own: an invalid
value falls back to that key's default and is reported once (the caller logs
``problems`` with ``window/logMessage``), never a crash. An empty list means "not
set" (VS Code sends the declared default ``[]`` for every unset list), so a client
sending ``select: []`` keeps every rule on.
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


def _codes(value: Any) -> tuple[str, ...] | None:
    """Rule codes or prefixes; an empty list is "not set" (``None``)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of rule codes")
    codes = tuple(v.strip().upper() for v in value if v.strip())
    for code in codes:
        if not any(full.startswith(code) for full in ALL_CODES) or not code.startswith("TM"):
            raise ValueError(f"unknown rule code {code!r}")
    return codes or None


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


@dataclass(frozen=True)
class Setting:
    """One editor setting: ``torchmode.<key>`` as the editor names it, the
    ``LspSettings`` field it fills, its JSON type and default as the editor shows
    them, the text the editor shows, and how a raw value becomes the field's value."""

    key: str
    attr: str
    json_type: str  # "boolean" | "integer" | "string" | "array" | "object"
    default: Any  # as the editor shows it (JSON)
    doc: str
    convert: Callable[[Any], Any]
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    @property
    def value_default(self) -> Any:
        """The field's value when the editor sends the declared default (or nothing)."""
        return self.convert(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting("enable", "enable", "boolean", True,
            "Run torchmode on Python files and notebooks.", _bool),
    Setting("select", "select", "array", [],
            "Rule codes or prefixes to enable, e.g. `[\"TM001\", \"TM002\"]`. Empty: all "
            "rules (or `select` from `[tool.torchmode]` in `pyproject.toml`).", _codes),
    Setting("ignore", "ignore", "array", [],
            "Rule codes or prefixes to disable, e.g. `[\"TM005\"]`.", _codes),
    Setting("severity", "severity", "object", {},
            "Severity per rule code, e.g. `{\"TM001\": \"error\"}`.", _severity),
    Setting("fixAll.unsafe", "fix_all_unsafe", "boolean", False,
            "Let **Fix all** (`source.fixAll.torchmode`, e.g. on save) also apply fixes "
            "marked unsafe. The command *torchmode: Fix All Issues (including unsafe)* "
            "always applies them.", _bool),
    Setting("codeAction.disableRuleComment.enable", "disable_rule_comment", "boolean", True,
            "Offer a quick fix that adds `# noqa: TMxxx` to silence a finding on its line.",
            _bool),
    Setting("hover.enable", "hover_enable", "boolean", True,
            "Show the train/eval and grad mode of a model or forward call on hover.", _bool),
    Setting("inlayHints.enable", "inlay_hints_enable", "boolean", False,
            "Show the mode a model is in (`eval`, `train`, `no_grad`) as inlay hints at "
            "forward calls.", _bool),
    Setting("debounceMs", "debounce_ms", "integer", 200,
            "Milliseconds to wait after a change before the file is analysed again.",
            _debounce, minimum=0, maximum=MAX_DEBOUNCE_MS),
    Setting("configurationPreference", "configuration_preference", "string", EDITOR_FIRST,
            "Which wins when both the editor settings and `[tool.torchmode]` in "
            "`pyproject.toml` set an option.", _preference,
            enum=(EDITOR_FIRST, FILESYSTEM_FIRST)),
)
_BY_ATTR = {setting.attr: setting for setting in SETTINGS}


def _default(attr: str) -> Any:
    return _BY_ATTR[attr].value_default


@dataclass(frozen=True)
class LspSettings:
    """What the editor asked for, every field defaulting as ``SETTINGS`` declares.
    ``None`` for select/ignore means "not set" (``pyproject.toml`` or all rules)."""

    enable: bool = _default("enable")
    select: tuple[str, ...] | None = _default("select")
    ignore: tuple[str, ...] | None = _default("ignore")
    severity: tuple[tuple[str, Severity], ...] = _default("severity")
    fix_all_unsafe: bool = _default("fix_all_unsafe")
    disable_rule_comment: bool = _default("disable_rule_comment")
    debounce_ms: int = _default("debounce_ms")
    hover_enable: bool = _default("hover_enable")
    inlay_hints_enable: bool = _default("inlay_hints_enable")
    configuration_preference: str = _default("configuration_preference")
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def debounce_s(self) -> float:
        return self.debounce_ms / 1000.0


DEFAULT_LSP_SETTINGS = LspSettings()
_MISSING = object()


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
    for setting in SETTINGS:
        value = _lookup(raw, setting.key)
        if value is _MISSING or value is None:
            continue
        try:
            values[setting.attr] = setting.convert(value)
        except ValueError as exc:
            problems.append(f"torchmode.{setting.key}: {exc}; using the default")
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


def folder_of(path: str, folders: Mapping[str, Any]) -> str | None:
    """The innermost workspace folder (a key of ``folders``) that holds ``path``."""
    best: str | None = None
    for folder in folders:
        inside = path == folder or path.startswith(folder.rstrip("/\\") + "/")
        if inside and (best is None or len(folder) > len(best)):
            best = folder
    return best
