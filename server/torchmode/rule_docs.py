"""The rule docs (``docs/TM001.md`` ...), written once and shipped as package data.

The CLI (``torchmode rule TM001``), the hover on ``# noqa: TM001``, SARIF help
text and the README all read them from here. Every doc has the same headings
(RULES.md §5), checked by the tests, so consumers can pick sections by name.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from .settings import ALL_CODES

SECTIONS = ("What it does", "Why is this bad?", "Example", "Fix safety", "References")

_CODE_RE = re.compile(r"^TM\d{3}$")


def rule_codes() -> tuple[str, ...]:
    """Codes that have a doc, in order."""
    docs = resources.files("torchmode") / "docs"
    found = sorted(
        entry.name[:-3] for entry in docs.iterdir()
        if entry.name.endswith(".md") and _CODE_RE.match(entry.name[:-3])
    )
    return tuple(found)


def _normalise(code: str) -> str:
    if not isinstance(code, str):
        raise ValueError(f"rule code must be a string like 'TM001', not {type(code).__name__}")
    wanted = code.strip().upper()
    if not _CODE_RE.match(wanted) or wanted not in ALL_CODES:
        known = ", ".join(ALL_CODES)
        raise ValueError(f"unknown rule code {code!r} (known: {known})")
    return wanted


@cache
def _read(code: str) -> str:
    doc = resources.files("torchmode") / "docs" / f"{code}.md"
    try:
        return doc.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no documentation for {code} in this installation") from None


def rule_doc(code: str) -> str:
    """The markdown doc of one rule (``"tm001"`` and ``" TM001 "`` are accepted).

    Raises ``ValueError`` with the list of known codes for anything else.
    """
    return _read(_normalise(code))


def rule_section(code: str, heading: str) -> str:
    """The text under one ``## heading`` of a rule's doc, without the heading."""
    if heading not in SECTIONS:
        raise ValueError(f"unknown section {heading!r} (sections: {', '.join(SECTIONS)})")
    lines = rule_doc(code).splitlines()
    start = lines.index(f"## {heading}") + 1
    body: list[str] = []
    in_code = False
    for line in lines[start:]:
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            break
        body.append(line)
    return "\n".join(body).strip("\n")


def rule_title(code: str) -> str:
    """The doc's title line without ``#``: ``"TM001 missing-eval"``."""
    return rule_doc(code).splitlines()[0].lstrip("# ").strip()
