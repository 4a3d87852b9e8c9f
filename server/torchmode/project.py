"""The files of a run and what each one says on its own: the first stage of the project
pipeline.

``summarize(text, path, settings) -> FileSummary`` is pure: the file's module path,
its classes with their layer facts, its function summaries (which parameters a
function sets to eval/train, whether it restores them, whether it reaches a training
step), its imports, and the top-level functions that want to know what other files
pass them. It never reads another file, and it is cached by path, content hash and
the settings that matter.

``ProjectIndex`` is the mutable set of inputs (paths, editor texts, settings) an
editor or a command line keeps; ``ProjectIndex.facts(settings)`` hands out the
immutable ``ProjectFacts`` (``solve.py``) of its current contents, which the analysis
of each file reads and never writes. A change to the index makes new facts; facts
already handed out never change, so an answer cannot depend on the order in which
files are analysed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from .analysis.flow import Summary
from .analysis.layers import ClassSummary
from .analysis.names import is_eval_function_name
from .analysis.prefilter import CALLER_WORTHY_WORDS, EVAL_LOOP_TEXT, words_pattern
from .settings import DEFAULT_SETTINGS, Settings
from .source import SourceSyntaxError, decode_source, parse_python, split_lines

if TYPE_CHECKING:
    from .cache import DiskCache
    from .solve import ProjectFacts



@dataclass(frozen=True)
class FileSummary:
    """What one file tells the others, made from its text alone."""

    path: str
    module: str                       # dotted module name from the nearest package root
    classes: Mapping[str, ClassSummary] = field(default_factory=dict)
    functions: Mapping[str, Summary] = field(default_factory=dict)
    imports: Mapping[str, str] = field(default_factory=dict)   # local name -> qualified
    # top-level functions whose analysis asks what the other files pass them
    wants_callers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FileInput:
    """One file of the project: where it is, its text (None: read from disk when
    needed) and the settings it is analysed with."""

    path: str
    module: str
    text: str | None
    settings: Settings | None = None

    def read(self) -> str | None:
        if self.text is not None:
            return self.text
        try:
            with open(self.path, "rb") as handle:
                return decode_source(handle.read())
        except (OSError, UnicodeDecodeError, SyntaxError, LookupError):
            return None


_PACKAGE_DIRS: dict[str, bool] = {}


def _is_package(directory: str) -> bool:
    found = _PACKAGE_DIRS.get(directory)
    if found is None:
        found = os.path.isfile(os.path.join(directory, "__init__.py"))
        _PACKAGE_DIRS[directory] = found
    return found


def module_name_of(path: str) -> str:
    """Dotted module name: the file's stem, prefixed by every parent directory that
    is a package (has ``__init__.py``)."""
    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    stem = filename[:-3] if filename.endswith(".py") else filename
    parts = [] if stem == "__init__" else [stem]
    while _is_package(directory):
        directory, pkg = os.path.split(directory)
        if not pkg:
            break
        parts.insert(0, pkg)
    return ".".join(parts) or stem


def file_key(path: str) -> str:
    """The identity of a file in a project (the same file named two ways is one file)."""
    return os.path.abspath(path)


# ------------------------------------------------------------------------- summarize

_SUMMARY_CACHE: OrderedDict[tuple[str, str, str, tuple[str, ...]], FileSummary] = OrderedDict()
_SUMMARY_CACHE_SIZE = 20_000


def summary_settings(settings: Settings) -> tuple[str, ...]:
    """The part of the settings a summary depends on (its cache key)."""
    return settings.evaluation_function_names


def summarize(text: str | None, path: str, settings: Settings = DEFAULT_SETTINGS,
              module: str | None = None) -> FileSummary:
    """Classes, function summaries and imports of one file (empty if it does not parse
    or cannot be read). Pure; cached by path, module, content hash and settings."""
    module = module if module is not None else module_name_of(path)
    if text is None:
        return FileSummary(path, module)
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    key = (path, module, digest, summary_settings(settings))
    found = _SUMMARY_CACHE.get(key)
    if found is not None:
        _SUMMARY_CACHE.move_to_end(key)
        return found
    found = _summarize(text, path, settings, module)
    _SUMMARY_CACHE[key] = found
    if len(_SUMMARY_CACHE) > _SUMMARY_CACHE_SIZE:
        _SUMMARY_CACHE.popitem(last=False)
    return found


def _summarize(text: str, path: str, settings: Settings, module: str) -> FileSummary:
    from .analysis.facts import collect
    from .analysis.flow import Interpreter
    from .analysis.layers import Resolver, file_summaries

    try:
        tree = parse_python(text, path)
    except SourceSyntaxError:
        return FileSummary(path, module)
    try:
        facts = collect(tree, path)
        classes = file_summaries(facts, path)
        functions: dict[str, Summary] = {}
        wants: frozenset[str] = frozenset()
        if facts.functions:
            # no project here: summarising one file must not summarise what it imports
            resolver = Resolver(classes, facts.imports, None, module)
            interp = Interpreter(tree, facts, resolver, path, external=None)
            interp.run_summaries()
            functions = interp.exported_summaries()
            wants = interp.caller_wanting_functions(split_lines(text),
                                                    settings.evaluation_function_names)
    except (RecursionError, MemoryError):
        return FileSummary(path, module)
    return FileSummary(path, module, classes, functions, dict(facts.imports.names), wants)


# ------------------------------------------------------------------------- imports by text

_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)|import[ \t]+([^\n#;]+))",
    re.MULTILINE)
_TOP_LEVEL_DEF = re.compile(r"^(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)


def imported_names(text: str) -> tuple[set[str], set[str]]:
    """(names imported with ``from m import a, b``, modules imported with ``import m``)."""
    names: set[str] = set()
    modules: set[str] = set()
    if "import" not in text:
        return names, modules
    for match in _IMPORT_LINE.finditer(text):
        if match.group(1) is not None:
            for part in match.group(2).strip("()").split(","):
                name = part.strip().split(" as ", 1)[0].strip()
                if name and name != "*":
                    names.add(name)
        else:
            for part in match.group(3).split(","):
                name = part.strip().split(" as ", 1)[0].strip()
                if name:
                    modules.add(name)
    return names, modules


def top_level_functions(text: str) -> set[str]:
    """Names of the functions defined at the top of a file (by text: a cheap test of
    whether another file could import one)."""
    return set(_TOP_LEVEL_DEF.findall(text))


_DEF_WITH_DECORATORS = re.compile(r"^(?:@[^\n]*\n)*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
_NEXT_TOP_LEVEL = re.compile(r"^(?:@|(?:async[ \t]+)?def\b|class\b)", re.MULTILINE)
# Words one of which a function's text (decorators included) holds when it could want
# its callers: a mode call, a grad context, a training step, an export (see
# Interpreter._wants_callers; an evaluation name or loop is tested apart).
_CALLER_WORTHY_TEXT = words_pattern(CALLER_WORTHY_WORDS)


def may_want_callers(text: str, names: Container[str] | None,
                     eval_func_patterns: tuple[str, ...]) -> set[str]:
    """The top-level functions of ``text`` among ``names`` (None: any) that could want
    what their callers pass. Read from the text alone, so a file is summarised only
    when one could: a superset of those ``FileSummary.wants_callers`` names."""
    found: set[str] = set()
    for match in _DEF_WITH_DECORATORS.finditer(text):
        name = match.group(1)
        if names is not None and name not in names:
            continue
        following = _NEXT_TOP_LEVEL.search(text, match.end())
        segment = text[match.start():following.start() if following else len(text)]
        if is_eval_function_name(name, eval_func_patterns) or \
                _CALLER_WORTHY_TEXT.search(segment) or EVAL_LOOP_TEXT.search(segment):
            found.add(name)
    return found


def calls_by_text(text: str, function: str) -> bool:
    """Does ``text`` call ``function`` (``f(``, ``m.f(``, or an ``import f as g`` alias)?
    Only such a file can pass anything to it."""
    if function not in text:  # each way of calling it names it somewhere
        return False
    names = [re.escape(function)] + [re.escape(a) for a in re.findall(
        rf"\b{re.escape(function)}[ \t]+as[ \t]+(\w+)", text)]
    return re.search(rf"\b(?:{'|'.join(names)})\s*\(", text) is not None


# ------------------------------------------------------------------------- the index

class ProjectIndex:
    """The files of a project as an editor or a command line keeps them; ``facts()``
    gives the immutable project facts of the current contents."""

    def __init__(self) -> None:
        self.entries: dict[str, FileInput] = {}
        self._facts: dict[Settings, ProjectFacts] = {}
        self.store: DiskCache | None = None    # on-disk cache of the facts' parts

    @classmethod
    def from_paths(cls, paths: Iterable[str],
                   settings_for: Callable[[str], Settings] | None = None) -> ProjectIndex:
        index = cls()
        for path in paths:
            index._add(path, None, settings_for(path) if settings_for is not None else None)
        return index

    def update(self, path: str, text: str, settings: Settings | None = None) -> None:
        """(Re)index one file from its current text (summarised when first needed)."""
        self._add(path, text, settings)

    def _add(self, path: str, text: str | None, settings: Settings | None) -> None:
        self.entries[file_key(path)] = FileInput(path, module_name_of(path), text, settings)
        self._facts = {}

    def remove(self, path: str) -> None:
        if self.entries.pop(file_key(path), None) is not None:
            self._facts = {}

    def module_name(self, path: str) -> str:
        return module_name_of(path)

    def __len__(self) -> int:
        return len(self.entries)

    def __getstate__(self) -> dict[str, object]:
        return {"entries": self.entries, "_facts": {}, "store": self.store}

    def facts(self, settings: Settings = DEFAULT_SETTINGS) -> ProjectFacts:
        """The project facts of the current files (``settings`` for files indexed
        without their own); the same object until the index changes."""
        found = self._facts.get(settings)
        if found is None:
            from .solve import ProjectFacts

            found = self._facts[settings] = ProjectFacts(self.entries, settings, self.store)
        return found

    # lookups of the current facts (for callers that hold the index)

    def summary(self, path: str) -> FileSummary | None:
        return self.facts().summary(path)

    def find_class(self, qualname: str, near: str | None = None) -> ClassSummary | None:
        return self.facts().find_class(qualname, near)

    def find_function(self, qualname: str, near: str | None = None) -> Summary | None:
        return self.facts().find_function(qualname, near)


# What the analysis and the fixes take as the other files: the facts, or an index
# (which stands for its current facts).
Project: TypeAlias = "ProjectIndex | ProjectFacts"
