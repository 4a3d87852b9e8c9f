"""``[tool.torchmode]`` loading, validation, CLI overrides and exclude globs."""

from __future__ import annotations

from pathlib import Path

import pytest
from torchmode.config import (
    ConfigError,
    clear_cache,
    is_excluded,
    load_settings,
    merge_cli,
    split_codes,
)
from torchmode.findings import Severity
from torchmode.settings import DEFAULT_SETTINGS, Settings


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


def _project(tmp_path: Path, table: str) -> Path:
    text = f"[project]\nname = 'x'\n\n[tool.torchmode]\n{table}\n"
    (tmp_path / "pyproject.toml").write_text(text)
    src = tmp_path / "pkg" / "sub"
    src.mkdir(parents=True)
    target = src / "train.py"
    target.write_text("x = 1\n")
    return target


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("")
    assert load_settings(target) == DEFAULT_SETTINGS


def test_all_keys(tmp_path: Path) -> None:
    target = _project(
        tmp_path,
        'select = ["TM00"]\nignore = ["tm005"]\nseverity = { TM002 = "info", TM001 = "error" }\n'
        'evaluation-function-names = ["score_*"]\nevaluation-loader-names = ["holdout*"]\n'
        'exclude = ["gen/**"]\n',
    )
    settings = load_settings(target)
    assert settings.select == ("TM00",)
    assert settings.ignore == ("TM005",)
    assert settings.severity == {"TM002": Severity.INFORMATION, "TM001": Severity.ERROR}
    assert settings.evaluation_function_names == ("score_*",)
    assert settings.evaluation_loader_names == ("holdout*",)
    assert settings.exclude == (f"{tmp_path.as_posix()}/gen/**",)
    assert not settings.enabled("TM005") and settings.enabled("TM001")


def test_walks_past_pyproject_without_table(tmp_path: Path) -> None:
    target = _project(tmp_path, 'ignore = ["TM002"]')
    (target.parent / "pyproject.toml").write_text("[project]\nname = 'inner'\n")
    assert load_settings(target).ignore == ("TM002",)


def test_nearest_table_wins(tmp_path: Path) -> None:
    target = _project(tmp_path, 'ignore = ["TM002"]')
    (target.parent / "pyproject.toml").write_text('[tool.torchmode]\nignore = ["TM003"]\n')
    assert load_settings(target).ignore == ("TM003",)


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('selct = ["TM001"]', "unknown key 'selct'"),
        ('evaluation_function_names = ["x"]', "did you mean 'evaluation-function-names'"),
        ('select = ["TM999"]', "unknown rule code 'TM999'"),
        ('ignore = ["E501"]', "unknown rule code 'E501'"),
        ('severity = { TM001 = "fatal" }', "unknown severity 'fatal'"),
        ('severity = { TM010 = "error" }', "unknown rule code 'TM010'"),
        ("select = 3", "'select' must be a list of strings"),
        ("severity = 'error'", "'severity' must be a table"),
    ],
)
def test_errors_name_file_and_problem(tmp_path: Path, table: str, needle: str) -> None:
    target = _project(tmp_path, table)
    with pytest.raises(ConfigError) as info:
        load_settings(target)
    assert needle in str(info.value)
    assert str(tmp_path / "pyproject.toml") in str(info.value)


def test_invalid_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.torchmode\nselect = [")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(tmp_path / "a.py")


def test_cache_follows_file_changes(tmp_path: Path) -> None:
    target = _project(tmp_path, 'ignore = ["TM002"]')
    assert load_settings(target).ignore == ("TM002",)
    (tmp_path / "pyproject.toml").write_text('[tool.torchmode]\nignore = ["TM003", "TM004"]\n')
    assert load_settings(target).ignore == ("TM003", "TM004")


def test_merge_cli() -> None:
    base = Settings(ignore=("TM005", "TM002"))
    merged = merge_cli(base, ["TM005", "TM001"], None)
    assert merged.select == ("TM005", "TM001")
    assert merged.ignore == ("TM002",)  # explicit --select TM005 beats the file's ignore
    assert merged.enabled("TM005") and not merged.enabled("TM003")
    merged = merge_cli(base, None, ["TM001"])
    assert merged.ignore == ("TM005", "TM002", "TM001")
    assert merge_cli(base, None, None) is base
    with pytest.raises(ConfigError, match="--select: unknown rule code 'X1'"):
        merge_cli(base, ["X1"], None)


def test_split_codes() -> None:
    assert split_codes(["TM001,TM002", "TM003"]) == ["TM001", "TM002", "TM003"]
    assert split_codes(None) is None


def test_exclude_globs(tmp_path: Path) -> None:
    target = _project(tmp_path, 'exclude = ["gen/**", "legacy_*.py", "pkg/sub/skip.py", "vendor"]')
    settings = load_settings(target)
    assert is_excluded(tmp_path / "gen" / "deep" / "x.py", settings)
    assert is_excluded(tmp_path / "pkg" / "legacy_a.py", settings)  # no '/': any depth
    assert is_excluded(tmp_path / "pkg" / "sub" / "skip.py", settings)
    assert is_excluded(tmp_path / "a" / "vendor" / "b.py", settings)  # folder name anywhere
    assert not is_excluded(target, settings)
    assert not is_excluded(tmp_path / "pkg" / "sub" / "skip2.py", settings)
    assert not is_excluded(tmp_path / "general" / "x.py", settings)
    assert not is_excluded(target, DEFAULT_SETTINGS)
