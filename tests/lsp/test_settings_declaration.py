"""The editor settings are declared once, in ``torchmode.lsp.settings.SETTINGS``:
``package.json``'s contributed configuration must say the same, and the server owns
the defaults (an empty list is "not set")."""

from __future__ import annotations

import json
from pathlib import Path

from torchmode.lsp.settings import (
    DEFAULT_LSP_SETTINGS,
    SETTINGS,
    LspSettings,
    engine_settings,
    parse_settings,
)
from torchmode.settings import DEFAULT_SETTINGS, Settings

PACKAGE_JSON = Path(__file__).resolve().parents[2] / "package.json"
# Read by the VS Code extension itself (how to start the server, what to show); the
# server never sees them.
CLIENT_ONLY = {"interpreter", "importStrategy", "showNotifications", "trace.server"}


def contributed() -> dict[str, dict[str, object]]:
    properties = json.loads(PACKAGE_JSON.read_text())["contributes"]["configuration"]["properties"]
    return {key.removeprefix("torchmode."): value for key, value in properties.items()}


def test_package_json_declares_exactly_the_server_settings_plus_the_client_ones() -> None:
    declared = {setting.key for setting in SETTINGS}
    assert set(contributed()) == declared | CLIENT_ONLY
    assert not declared & CLIENT_ONLY


def test_package_json_types_defaults_and_docs_match_the_declaration() -> None:
    properties = contributed()
    for setting in SETTINGS:
        entry = properties[setting.key]
        assert entry["type"] == setting.json_type, setting.key
        assert entry["default"] == setting.default, setting.key
        assert entry["markdownDescription"] == setting.doc, setting.key
        assert tuple(entry.get("enum", ())) == setting.enum, setting.key  # type: ignore[arg-type]
        assert entry.get("minimum") == setting.minimum, setting.key
        assert entry.get("maximum") == setting.maximum, setting.key


def test_the_declared_defaults_parse_to_the_server_defaults() -> None:
    shown = {}
    for setting in SETTINGS:
        node = shown
        *parents, last = setting.key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = setting.default
    parsed = parse_settings(shown)
    assert parsed == DEFAULT_LSP_SETTINGS and parsed.problems == ()


def test_an_empty_select_or_ignore_is_unset() -> None:
    parsed = parse_settings({"select": [], "ignore": []})
    assert parsed.select is None and parsed.ignore is None and parsed.problems == ()
    assert engine_settings(parsed, None) == DEFAULT_SETTINGS  # every rule on
    project = Settings(select=("TM001",), ignore=("TM005",))
    assert engine_settings(parsed, project) == project  # pyproject.toml still applies
    assert engine_settings(LspSettings(select=("TM002",)), project).select == ("TM002",)
