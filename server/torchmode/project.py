"""Cross-file index: what one file needs to know about the others of the same run.

Per file it keeps cheap summaries: the module path, the classes with their
layer facts (``ClassSummary``), and the function summaries (which parameters a
function sets to eval/train, whether it restores them, whether it reaches a
training step). ``analyze()`` resolves ``from utils import evaluate`` and
``from models import Net`` through it by module path. It never imports or runs
user code; it holds no AST, so it pickles cheaply into worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .analysis.flow import CallRecord, Summary
from .analysis.layers import ClassSummary
from .source import SourceSyntaxError, decode_source, parse_python


@dataclass
class FileSummary:
    path: str
    module: str                       # dotted module name from the nearest package root
    classes: dict[str, ClassSummary] = field(default_factory=dict)
    functions: dict[str, Summary] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)   # local name -> qualified
    calls: set[str] = field(default_factory=set)            # qualified names it calls


def module_name_of(path: str) -> str:
    """Dotted module name: the file's stem, prefixed by every parent directory that
    is a package (has ``__init__.py``)."""
    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    stem = filename[:-3] if filename.endswith(".py") else filename
    parts = [] if stem == "__init__" else [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, pkg = os.path.split(directory)
        parts.insert(0, pkg)
        if not pkg:
            break
    return ".".join(parts) or stem


class ProjectIndex:
    """Summaries of the analysed files, looked up by module path."""

    def __init__(self) -> None:
        self.files: dict[str, FileSummary] = {}
        self._by_module: dict[str, list[str]] = {}
        self._caller_cache: dict[str, dict[str, CallRecord]] = {}
        self._busy: set[str] = set()

    # ---------------------------------------------------------------- building

    @classmethod
    def from_paths(cls, paths: Iterable[str]) -> ProjectIndex:
        index = cls()
        for path in paths:
            try:
                with open(path, "rb") as handle:
                    text = decode_source(handle.read())
            except (OSError, UnicodeDecodeError, SyntaxError, LookupError):
                continue
            index.update(path, text)
        return index

    def update(self, path: str, text: str) -> None:
        """(Re)index one file; a file that does not parse keeps its last summary."""
        from .analysis.facts import collect
        from .analysis.flow import Interpreter
        from .analysis.layers import Resolver, file_summaries

        try:
            tree = parse_python(text, path)
        except SourceSyntaxError:
            return
        try:
            facts = collect(tree, path)
            module = self.module_name(path)
            classes = file_summaries(facts, path)
            functions: dict[str, Summary] = {}
            if facts.functions:
                resolver = Resolver(classes, facts.imports, self, module)
                interp = Interpreter(tree, facts, resolver, path, external=None)
                interp.run_summaries()
                functions = interp.exported_summaries()
        except (RecursionError, MemoryError):
            return
        self.remove(path)
        key = self._key(path)
        calls: set[str] = set()
        for name in facts.all_calls():
            head, _, rest = name.partition(".")
            base = facts.imports.names.get(head)
            if base is not None and not base.startswith(("torch", "numpy", "os", "sys")):
                calls.add(f"{base}.{rest}" if rest else base)
        self.files[key] = FileSummary(path, module, classes, functions, dict(facts.imports.names),
                                      calls)
        self._caller_cache.clear()
        self._by_module.setdefault(module, []).append(key)
        # also reachable by its trailing parts ("utils" for "pkg.utils"): scripts run from
        # their own directory import siblings that way
        parts = module.split(".")
        for i in range(1, len(parts)):
            self._by_module.setdefault(".".join(parts[i:]), []).append(key)

    def remove(self, path: str) -> None:
        key = self._key(path)
        self._caller_cache.clear()
        if self.files.pop(key, None) is None:
            return
        for name in list(self._by_module):
            paths = [p for p in self._by_module[name] if p != key]
            if paths:
                self._by_module[name] = paths
            else:
                del self._by_module[name]

    @staticmethod
    def _key(path: str) -> str:
        return os.path.abspath(path)

    def module_name(self, path: str) -> str:
        return module_name_of(path)

    # ---------------------------------------------------------------- lookups

    def _files_for(self, module: str, near: str | None = None) -> list[FileSummary]:
        keys = self._by_module.get(module, [])
        files = [self.files[k] for k in keys if k in self.files]
        if near and len(files) > 1:
            base = os.path.dirname(os.path.abspath(near))
            files.sort(key=lambda f: (os.path.dirname(f.path) != base,
                                      -len(os.path.commonpath([base, os.path.abspath(f.path)]))))
        return files

    def _split(self, qual: str, near: str | None = None, depth: int = 0
               ) -> tuple[FileSummary, str] | None:
        """Split ``pkg.mod.Name`` into the file of ``pkg.mod`` and ``Name``,
        following re-exports (``from .models import Net`` in ``__init__.py``)."""
        if depth > 5:
            return None
        parts = qual.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:i])
            name = ".".join(parts[i:])
            for summary in self._files_for(module, near):
                head = name.split(".", 1)[0]
                if head in summary.classes or name in summary.functions:
                    return summary, name
                target = summary.imports.get(head)
                if target is not None:
                    if target.startswith("."):
                        from .analysis.layers import _resolve_relative
                        pkg = summary.module if summary.path.endswith("__init__.py") else \
                            summary.module
                        target = _resolve_relative(
                            target, pkg + (".__init__" if summary.path.endswith("__init__.py")
                                           else ""))
                    rest = name[len(head):]
                    found = self._split(target + rest, near, depth + 1)
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

    def summary_lookup(self, path: str) -> Callable[[str], Summary | None]:
        """The lookup ``analyze()`` hands to the dataflow for calls into other files."""

        def lookup(qual: str) -> Summary | None:
            if qual.startswith("."):
                from .analysis.layers import _resolve_relative
                qual = _resolve_relative(qual, self.module_name(path))
            found = self.find_function(qual, path)
            if found is not None and os.path.abspath(path) == self._origin(qual, path):
                return None  # our own file: the in-file analysis knows better
            return found

        return lookup

    def caller_lookup(self, path: str) -> Callable[[str], CallRecord | None]:
        """What the other analysed files pass to the top-level functions of ``path``."""
        target = self._key(path)

        def lookup(function: str) -> CallRecord | None:
            return self._callers_of(target, function)

        return lookup

    def _callers_of(self, target: str, function: str) -> CallRecord | None:
        merged: CallRecord | None = None
        for key, summary in list(self.files.items()):
            if key == target or key in self._busy:
                continue
            for qual in summary.calls:
                if qual.rsplit(".", 1)[-1] != function:
                    continue
                if self._resolve_relative_qual(qual, summary) is None:
                    continue
                origin = self._origin(self._resolve_relative_qual(qual, summary) or qual,
                                      summary.path)
                if origin != target:
                    continue
                records = self._records_of(key)
                for rqual, record in records.items():
                    if rqual.rsplit(".", 1)[-1] != function:
                        continue
                    if merged is None:
                        merged = CallRecord()
                    for name, modes in record.modes.items():
                        merged.modes.setdefault(name, set()).update(modes)
                    merged.classes.update(record.classes)
                    merged.grad |= record.grad
                    merged.count += record.count
                break
        return merged

    def _resolve_relative_qual(self, qual: str, summary: FileSummary) -> str | None:
        if not qual.startswith("."):
            return qual
        from .analysis.layers import _resolve_relative
        return _resolve_relative(qual, summary.module)

    def _records_of(self, key: str) -> dict[str, CallRecord]:
        """Run the analysis of a caller file once and keep its calls into other files."""
        cached = self._caller_cache.get(key)
        if cached is not None:
            return cached
        result: dict[str, CallRecord] = {}
        summary = self.files.get(key)
        self._busy.add(key)
        try:
            if summary is not None:
                result = _external_records(summary.path, self)
        finally:
            self._busy.discard(key)
        self._caller_cache[key] = result
        return result

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_caller_cache"] = {}
        state["_busy"] = set()
        return state

    def _origin(self, qual: str, near: str) -> str | None:
        found = self._split(qual, near)
        return os.path.abspath(found[0].path) if found else None

    def __len__(self) -> int:
        return len(self.files)


def _external_records(path: str, project: ProjectIndex) -> dict[str, CallRecord]:
    """Calls from ``path`` into other analysed files, with the modes passed (no AST kept)."""
    from dataclasses import replace

    from .analysis.facts import collect
    from .analysis.flow import Interpreter
    from .analysis.layers import Resolver, file_summaries

    try:
        with open(path, "rb") as handle:
            text = decode_source(handle.read())
        tree = parse_python(text, path)
    except (OSError, UnicodeDecodeError, SyntaxError, LookupError, SourceSyntaxError):
        return {}
    try:
        facts = collect(tree, path)
        module = project.module_name(path)
        resolver = Resolver(file_summaries(facts, path), facts.imports, project, module)
        interp = Interpreter(tree, facts, resolver, path, external=project.summary_lookup(path))
        interp.run()
    except (RecursionError, MemoryError):
        return {}
    where = os.path.basename(path)
    out: dict[str, CallRecord] = {}
    for qual, record in interp.external_records.items():
        modes = {k: {replace(m, node=None, guard=None, where=m.where or where) for m in v}
                 for k, v in record.modes.items()}
        out[qual] = CallRecord(modes, dict(record.classes), set(record.grad), record.count)
    return out
