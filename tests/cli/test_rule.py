"""``torchmode rule``: docs from the package, by code or name."""

from __future__ import annotations

from collections.abc import Callable

from torchmode.rule_docs import SECTIONS, rule_doc
from torchmode.settings import ALL_CODES

from .conftest import Run

RunCli = Callable[..., Run]


def test_rule_by_code_and_name(run_cli: RunCli) -> None:
    run = run_cli("rule", "TM001")
    assert run.status == 0
    assert run.out == rule_doc("TM001").rstrip("\n") + "\n"
    assert run.out.startswith("# TM001 missing-eval")
    for heading in SECTIONS:
        assert f"## {heading}" in run.out
    assert run_cli("rule", "tm001").out == run.out
    assert run_cli("rule", "missing-eval").out == run.out


def test_rule_all(run_cli: RunCli) -> None:
    run = run_cli("rule", "--all")
    assert run.status == 0
    titles = [line for line in run.out.splitlines() if line.startswith("# TM")]
    assert [t.split()[1] for t in titles] == list(ALL_CODES)


def test_rule_list_and_unknown(run_cli: RunCli) -> None:
    listing = run_cli("rule")
    assert listing.status == 0
    assert [line.split()[:2] for line in listing.out.splitlines()][:2] == [
        ["TM001", "missing-eval"], ["TM002", "missing-no-grad"]]
    unknown = run_cli("rule", "TM999")
    assert unknown.status == 2
    assert "unknown rule 'TM999'" in unknown.err
