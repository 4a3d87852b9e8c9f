"""Cross-file index: what one file needs to know about the others of the same run.

Per file it keeps cheap summaries: the module path, the classes with their
layer facts (``ClassSummary``), and the function summaries (which parameters a
function sets to eval/train, whether it restores them, whether it reaches a
training step). ``analyze()`` resolves ``from utils import evaluate`` and
``from models import Net`` through it by module path, and asks it what the
other files pass to a function's parameters. It never imports or runs user
code.

Everything is lazy: ``from_paths`` and ``update`` only record paths (and the
text, when given); a file is parsed and summarised the first time a lookup
lands on it, and the callers of a function are found through a text index of
``import`` lines built on the first such question. So indexing a run costs
nearly nothing and the summaries made are those the analysed files need. The
index holds no AST; caches are dropped when it is pickled into worker
processes (each worker fills its own).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .analysis.flow import CallRecord, Summary
from .analysis.layers import ClassSummary, _resolve_relative
from .source import SourceSyntaxError, decode_source, parse_python, split_lines


@dataclass
class FileSummary:
    path: str
    module: str                       # dotted module name from the nearest package root
    classes: dict[str, ClassSummary] = field(default_factory=dict)
    functions: dict[str, Summary] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)   # local name -> qualified


@dataclass
class _Entry:
    path: str
    module: str
    text: str | None = None           # None: read from disk when needed
    summary: FileSummary | None = None


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


_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)|import[ \t]+([^\n#;]+))",
    re.MULTILINE)


def _imported_names(text: str) -> tuple[set[str], set[str]]:
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


class ProjectIndex:
    """The analysed files, looked up by module path; summaries made on demand."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self._by_module: dict[str, list[str]] = {}
        self._caller_cache: dict[str, dict[str, CallRecord]] = {}
        self._import_index: dict[str, set[str]] | None = None
        self._module_importers: dict[str, set[str]] | None = None
        self._busy: set[str] = set()
        self._head_cache: set[str] | None = None
        self._split_cache: dict[tuple[str, str], tuple[FileSummary, str] | None] = {}

    # ---------------------------------------------------------------- building

    @classmethod
    def from_paths(cls, paths: Iterable[str]) -> ProjectIndex:
        index = cls()
        for path in paths:
            index._add(path, None)
        return index

    def update(self, path: str, text: str) -> None:
        """(Re)index one file from its current text (summarised when first needed)."""
        self._add(path, text)

    def _add(self, path: str, text: str | None) -> None:
        key = self._key(path)
        if key in self.entries:
            self.remove(path)
        entry = _Entry(path, self.module_name(path), text)
        self.entries[key] = entry
        parts = entry.module.split(".")
        # reachable by its full name and by its trailing parts ("utils" for "pkg.utils"):
        # scripts run from their own directory import siblings that way
        for i in range(len(parts)):
            self._by_module.setdefault(".".join(parts[i:]), []).append(key)
        self._forget()

    def remove(self, path: str) -> None:
        key = self._key(path)
        entry = self.entries.pop(key, None)
        if entry is None:
            return
        parts = entry.module.split(".")
        for i in range(len(parts)):
            name = ".".join(parts[i:])
            keys = [k for k in self._by_module.get(name, ()) if k != key]
            if keys:
                self._by_module[name] = keys
            else:
                self._by_module.pop(name, None)
        self._forget()

    def _forget(self) -> None:
        self._caller_cache.clear()
        self._head_cache = None
        self._split_cache = {}
        self._import_index = None
        self._module_importers = None

    @staticmethod
    def _key(path: str) -> str:
        return os.path.abspath(path)

    def module_name(self, path: str) -> str:
        return module_name_of(path)

    def __len__(self) -> int:
        return len(self.entries)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_caller_cache"] = {}
        state["_import_index"] = None
        state["_module_importers"] = None
        state["_busy"] = set()
        state["_head_cache"] = None
        state["_split_cache"] = {}
        return state

    # ---------------------------------------------------------------- summaries

    def _text(self, entry: _Entry) -> str | None:
        if entry.text is not None:
            return entry.text
        try:
            with open(entry.path, "rb") as handle:
                return decode_source(handle.read())
        except (OSError, UnicodeDecodeError, SyntaxError, LookupError):
            return None

    def summary(self, path: str) -> FileSummary | None:
        entry = self.entries.get(self._key(path))
        return self._summary(entry) if entry is not None else None

    def _summary(self, entry: _Entry) -> FileSummary:
        if entry.summary is None:
            entry.summary = _summarize(entry, self._text(entry), self)
        return entry.summary

    def _files_for(self, module: str, near: str | None = None) -> list[FileSummary]:
        keys = self._by_module.get(module, [])
        entries = [self.entries[k] for k in keys if k in self.entries]
        if near and len(entries) > 1:
            base = os.path.dirname(os.path.abspath(near))

            def closeness(entry: _Entry) -> tuple[bool, int]:
                where = os.path.abspath(entry.path)
                try:
                    shared = len(os.path.commonpath([base, where]))
                except ValueError:  # different drives
                    shared = 0
                return os.path.dirname(where) != base, -shared

            entries.sort(key=closeness)
        return [self._summary(e) for e in entries]

    def _split(self, qual: str, near: str | None = None, depth: int = 0
               ) -> tuple[FileSummary, str] | None:
        """Split ``pkg.mod.Name`` into the file of ``pkg.mod`` and ``Name``,
        following re-exports (``from .models import Net`` in ``__init__.py``)."""
        if depth == 0:
            key = (qual, os.path.dirname(near) if near else "")
            if key in self._split_cache:
                return self._split_cache[key]
            found = self._split(qual, near, 1)
            self._split_cache[key] = found
            return found
        if depth > 6:
            return None
        parts = qual.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:i])
            if module not in self._by_module:
                continue
            name = ".".join(parts[i:])
            for summary in self._files_for(module, near):
                head = name.split(".", 1)[0]
                if head in summary.classes or name in summary.functions:
                    return summary, name
                target = summary.imports.get(head)
                if target is not None:
                    if target.startswith("."):
                        base = summary.module + (
                            ".__init__" if summary.path.endswith("__init__.py") else "")
                        target = _resolve_relative(target, base)
                    found = self._split(target + name[len(head):], near, depth + 1)
                    if found is not None:
                        return found
        return None

    def find_class(self, qualname: str, near: str | None = None) -> ClassSummary | None:
        found = self._split(qualname, near)
        if found is None:
            return None
        summary, name = found
        return summary.classes.get(name)

    def find_function(self, qualname: str, near: str | None = None) -> Summary | None:
        found = self._split(qualname, near)
        if found is None:
            return None
        summary, name = found
        return summary.functions.get(name)

    def _origin(self, qual: str, near: str) -> str | None:
        found = self._split(qual, near)
        return self._key(found[0].path) if found else None

    def summary_lookup(self, path: str) -> Callable[[str], Summary | None]:
        """The lookup ``analyze()`` hands to the dataflow for calls into other files."""
        own = self._key(path)
        cache: dict[str, Summary | None] = {}

        def lookup(qual: str) -> Summary | None:
            if qual in cache:
                return cache[qual]
            full = _resolve_relative(qual, self.module_name(path)) if qual.startswith(".") \
                else qual
            found = self._split(full, path) if full.split(".", 1)[0] in self._heads() else None
            result = None
            if found is not None and self._key(found[0].path) != own:
                summary, name = found   # (our own file: the in-file analysis knows better)
                result = summary.functions.get(name)
            cache[qual] = result
            return result

        return lookup

    def _heads(self) -> set[str]:
        """First components of every indexed module name (a quick miss for ``torch.*``)."""
        heads = self._head_cache
        if heads is None:
            heads = {name.split(".", 1)[0] for name in self._by_module}
            self._head_cache = heads
        return heads

    def remember_records(self, path: str, records: dict[str, CallRecord]) -> None:
        """Keep what an analysed file passes to other files' functions, so a later
        question about its callers does not analyse it again."""
        key = self._key(path)
        if key in self.entries and key not in self._caller_cache:
            self._caller_cache[key] = _strip_records(records, os.path.basename(path))

    # ---------------------------------------------------------------- callers

    def caller_lookup(self, path: str) -> Callable[[str], CallRecord | None]:
        """What the other analysed files pass to the top-level functions of ``path``."""
        target = self._key(path)

        def lookup(function: str) -> CallRecord | None:
            return self._callers_of(target, function)

        return lookup

    def _build_import_index(self) -> None:
        names: dict[str, set[str]] = {}
        modules: dict[str, set[str]] = {}
        for key, entry in list(self.entries.items()):
            text = self._text(entry)
            if not text:
                continue
            imported, imported_modules = _imported_names(text)
            for name in imported:
                names.setdefault(name, set()).add(key)
            for module in imported_modules:
                last = module.rsplit(".", 1)[-1]
                modules.setdefault(last, set()).add(key)
        self._import_index = names
        self._module_importers = modules

    def _callers_of(self, target: str, function: str) -> CallRecord | None:
        entry = self.entries.get(target)
        if entry is None or len(self.entries) < 2:
            return None
        if self._import_index is None or self._module_importers is None:
            self._build_import_index()
        assert self._import_index is not None and self._module_importers is not None
        module_last = entry.module.rsplit(".", 1)[-1]
        candidates = self._import_index.get(function, set()) | \
            self._module_importers.get(module_last, set())
        merged: CallRecord | None = None
        for key in sorted(candidates):
            if key == target or key in self._busy:
                continue
            caller = self.entries.get(key)
            if caller is None:
                continue
            for qual, record in self._records_of(key).items():
                if qual.rsplit(".", 1)[-1] != function:
                    continue
                if self._origin(qual, caller.path) != target:
                    continue
                if merged is None:
                    merged = CallRecord()
                for name, modes in record.modes.items():
                    merged.modes.setdefault(name, set()).update(modes)
                merged.classes.update(record.classes)
                merged.grad |= record.grad
                merged.count += record.count
        return merged

    def _records_of(self, key: str) -> dict[str, CallRecord]:
        """Run the analysis of a caller file once and keep its calls into other files."""
        cached = self._caller_cache.get(key)
        if cached is not None:
            return cached
        entry = self.entries.get(key)
        result: dict[str, CallRecord] = {}
        self._busy.add(key)
        try:
            if entry is not None:
                result = _external_records(entry, self._text(entry), self)
        finally:
            self._busy.discard(key)
        self._caller_cache[key] = result
        return result


def _summarize(entry: _Entry, text: str | None, project: ProjectIndex) -> FileSummary:
    """Classes, function summaries and imports of one file (empty if it does not parse)."""
    from .analysis.facts import collect
    from .analysis.flow import Interpreter
    from .analysis.layers import Resolver, file_summaries

    summary = FileSummary(entry.path, entry.module)
    if text is None:
        return summary
    try:
        tree = parse_python(text, entry.path)
    except SourceSyntaxError:
        return summary
    try:
        facts = collect(tree, entry.path)
        summary.classes = file_summaries(facts, entry.path)
        summary.imports = dict(facts.imports.names)
        if facts.functions:
            # no project here: summarising one file must not summarise what it imports
            resolver = Resolver(summary.classes, facts.imports, None, entry.module)
            interp = Interpreter(tree, facts, resolver, entry.path, external=None)
            interp.run_summaries()
            summary.functions = interp.exported_summaries()
    except (RecursionError, MemoryError):
        pass
    return summary


def _external_records(entry: _Entry, text: str | None,
                      project: ProjectIndex) -> dict[str, CallRecord]:
    """Calls from one file into other analysed files, with the modes passed (no AST kept)."""
    from .analysis.facts import collect
    from .analysis.flow import Interpreter
    from .analysis.layers import Resolver, file_summaries

    if text is None:
        return {}
    try:
        tree = parse_python(text, entry.path)
    except SourceSyntaxError:
        return {}
    try:
        facts = collect(tree, entry.path)
        resolver = Resolver(file_summaries(facts, entry.path), facts.imports, project,
                            entry.module)
        interp = Interpreter(tree, facts, resolver, entry.path,
                             external=project.summary_lookup(entry.path))
        interp.run(split_lines(text))
    except (RecursionError, MemoryError):
        return {}
    return _strip_records(interp.external_records, os.path.basename(entry.path))


def _strip_records(records: dict[str, CallRecord], where: str) -> dict[str, CallRecord]:
    """Records without AST references, their modes labelled with the caller's file."""
    from dataclasses import replace

    out: dict[str, CallRecord] = {}
    for qual, record in records.items():
        modes = {k: {replace(m, node=None, guard=None, where=m.where or where) for m in v}
                 for k, v in record.modes.items()}
        out[qual] = CallRecord(modes, dict(record.classes), set(record.grad), record.count)
    return out
