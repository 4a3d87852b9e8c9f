"""Settings the engine reads. Loading them (pyproject.toml, editor settings) lives
in ``config.py``; this module only defines what they are."""

from __future__ import annotations

from dataclasses import dataclass, field

from .findings import Severity

ALL_CODES = ("TM001", "TM002", "TM003", "TM004", "TM005", "TM006", "TM007", "TM008",
             "TM009")


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ALL_CODES
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    # Extra fnmatch-style patterns, added to the built-in ones of RULES.md §2.
    evaluation_function_names: tuple[str, ...] = ()
    evaluation_loader_names: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # Hint-severity findings (no effect today) in the CLI's output (RULES.md §3).
    show_hints: bool = False

    def enabled(self, code: str) -> bool:
        return any(code.startswith(s) for s in self.select) and not any(
            code.startswith(i) for i in self.ignore
        )

    def __hash__(self) -> int:
        return hash((self.select, self.ignore, tuple(sorted(self.severity.items())),
                     self.evaluation_function_names, self.evaluation_loader_names, self.exclude,
                     self.show_hints))


DEFAULT_SETTINGS = Settings()
