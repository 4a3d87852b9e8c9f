"""Project facts: what one file needs to know about the others, the same whatever the
order in which files are analysed.

``ProjectFacts`` is the second stage of the pipeline (after ``project.summarize``).
It resolves ``from utils import evaluate`` and ``from models import Net`` by module
path to other files' summaries, and it answers what the other files pass to a
top-level function's parameters (its *call records*).

A call record is made by analysing a caller file, and that analysis needs the call
records of the caller's own functions (``main.py -> runner.py -> evaluation.py``).
So the files form a graph (an edge from each file to the files that may call it,
found through their imports), and the records are solved over its strongly
connected components in dependency order: callers before callees, and inside a
cycle a fixed point, each round analysing every member against the previous
round's records. Every value is a function of the files' texts and settings only.

The facts are computed on demand and kept (``solve_all()`` computes everything at
once, before the facts travel to worker processes). Nothing about a file's answer
depends on which questions were asked before: what is kept are values of pure
functions of the inputs. The object never changes what it answers; an edited
project gives new facts (``ProjectIndex.facts``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from .analysis.flow import CallRecord, Summary
from .analysis.layers import ClassSummary, _resolve_relative
from .cache import content_key
from .project import (
    FileInput,
    FileSummary,
    calls_by_text,
    file_key,
    imported_names,
    may_want_callers,
    summarize,
    summary_settings,
    top_level_functions,
)
from .settings import Settings
from .source import SourceSyntaxError, parse_python, split_lines

if TYPE_CHECKING:
    from .cache import DiskCache
    from .reads import OverlayReads

Records = Mapping[str, CallRecord]
T = TypeVar("T")          # function name -> what its callers pass
_MAX_ROUNDS = 6                             # fixed-point rounds inside one cycle of files


class ProjectFacts:
    """Immutable answers about a set of files (see the module docstring)."""

    def __init__(self, entries: Mapping[str, FileInput], settings: Settings,
                 store: DiskCache | None = None) -> None:
        self.entries = dict(entries)
        self.settings = settings
        # on disk: summaries and calls into other files, by content (``torchmode check``)
        self.store = store
        self._by_module: dict[str, list[str]] = {}
        for key in sorted(self.entries):
            parts = self.entries[key].module.split(".")
            # reachable by its full name and by its trailing parts ("utils" for
            # "pkg.utils"): scripts run from their own directory import siblings that way
            for i in range(len(parts)):
                self._by_module.setdefault(".".join(parts[i:]), []).append(key)
        self._heads = {name.split(".", 1)[0] for name in self._by_module}
        self._layout: str | None = None
        # an overlay (``with_texts``): the facts it was made from, the files whose texts
        # it replaced, and where the files it reads of the others are recorded
        self._base: ProjectFacts | None = None
        self._changed: frozenset[str] = frozenset()
        self.seen: OverlayReads | None = None
        self._memo_clear()

    def _memo_clear(self) -> None:
        self._summaries: dict[str, FileSummary] = {}
        # each split with the files whose summaries it looked at
        self._split_cache: dict[tuple[str, str],
                                tuple[tuple[FileSummary, str] | None, frozenset[str]]] = {}
        self._looking: list[set[str]] = []     # files looked at, per open ``looked_at``
        self._digests: dict[str, str] = {}
        self._importers: tuple[dict[str, set[str]], dict[str, set[str]]] | None = None
        self._callers: dict[str, dict[str, tuple[str, ...]]] = {}
        self._records: dict[str, dict[str, CallRecord]] = {}
        self._outgoing: dict[str, dict[str, CallRecord]] = {}
        self._imports: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._imports_digest: str | None = None
        self._texts: list[tuple[str, str, str]] | None = None   # (key, path, text)
        self._containing: dict[str, tuple[str, ...]] = {}

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_split_cache"] = {}
        state["_importers"] = None
        state["_looking"] = []
        state["_digests"] = {}
        state["_imports"] = {}
        state["_texts"] = None
        state["_containing"] = {}
        return state

    def settings_of(self, key: str) -> Settings:
        return self.entries[key].settings or self.settings

    def module_name(self, path: str) -> str:
        entry = self.entries.get(file_key(path))
        if entry is not None:
            return entry.module
        from .project import module_name_of

        return module_name_of(path)

    def __len__(self) -> int:
        return len(self.entries)

    def _text(self, key: str) -> str | None:
        """The text of file ``key``; an overlay records that it read another file."""
        if self.seen is not None and key not in self._changed:
            self.seen.files.add(key)
        return self.entries[key].read()

    # ---------------------------------------------------------------- overlays

    def with_texts(self, texts: Mapping[str, str]) -> ProjectFacts:
        """These facts with the files of ``texts`` holding these texts (a fix checked
        before it is applied); ``self`` is not changed. What the copy reads of the
        other files is recorded in ``seen`` (shared with this one, if an overlay)."""
        from .project import module_name_of

        entries = dict(self.entries)
        changed = set(self._changed)
        for path, text in texts.items():
            key = file_key(path)
            old = entries.get(key)
            module = old.module if old is not None else module_name_of(path)
            entries[key] = FileInput(path, module, text, old.settings if old is not None else None)
            changed.add(key)
        overlay = ProjectFacts(entries, self.settings)
        overlay._base = self._base or self
        overlay._changed = frozenset(changed)
        overlay.seen = self.seen
        return overlay

    # ---------------------------------------------------------------- text scans

    def texts_containing(self, word: str) -> list[tuple[str, str]]:
        """(path, text) of the files whose text contains ``word``, in the order of the
        entries (all texts are read once, then kept). An overlay records the word: its
        answer is the original's, with the replaced texts."""
        if self.seen is not None:
            self.seen.words.add(word)
        texts = self._all_texts()
        keys = self._containing.get(word)
        if keys is None:
            keys = self._containing[word] = tuple(k for k, _, t in texts if word in t)
        found = set(keys)
        return [(path, text) for key, path, text in texts if key in found]

    def _all_texts(self) -> list[tuple[str, str, str]]:
        """(key, path, text) of every file with a text, in the order of the entries."""
        if self._texts is None:
            base = ({k: (p, t) for k, p, t in self._base._all_texts()}
                    if self._base is not None else None)
            self._texts = []
            for key, entry in self.entries.items():
                if base is None or key in self._changed:
                    path, text = entry.path, entry.read()
                elif key in base:
                    path, text = base[key]
                else:
                    continue
                if text:
                    self._texts.append((key, path, text))
        return self._texts

    def containing_digest(self, word: str) -> str:
        """A digest of which files contain ``word`` and of their contents."""
        self.texts_containing(word)
        return content_key(*(self.file_digest(key) for key in self._containing[word]))

    def _imports_of(self, key: str) -> tuple[frozenset[str], frozenset[str]]:
        """What file ``key`` imports (names, modules), from its text; an overlay asks
        the facts it was made from for the files it did not replace."""
        found = self._imports.get(key)
        if found is None:
            if self._base is not None and key not in self._changed and key in self._base.entries:
                found = self._base._imports_of(key)
            else:
                text = self.entries[key].read()
                names, modules = imported_names(text) if text else (set(), set())
                found = (frozenset(names), frozenset(modules))
            self._imports[key] = found
        return found

    def imports_digest(self) -> str:
        """A digest of what every file imports (the importer index is made from it)."""
        if self._imports_digest is None:
            self._imports_digest = content_key(*(
                f"{key}\0{sorted(names)}\0{sorted(modules)}"
                for key in sorted(self.entries)
                for names, modules in (self._imports_of(key),)))
        return self._imports_digest

    # ---------------------------------------------------------------- summaries

    def summary(self, path: str) -> FileSummary | None:
        key = file_key(path)
        return self._summary(key) if key in self.entries else None

    def _summary(self, key: str) -> FileSummary:
        found = self._summaries.get(key)
        if found is None:
            entry = self.entries[key]
            text = self._text(key)
            settings = self.settings_of(key)
            stored = None
            if self.store is not None and text is not None:
                stored = content_key(entry.path, entry.module, text,
                                     summary_settings(settings))
                found = self.store.get("summary", stored)
            if found is None:
                found = summarize(text, entry.path, settings, entry.module)
                if stored is not None and self.store is not None:
                    self.store.put("summary", stored, found)
            self._summaries[key] = found
        if self._looking:
            self._looking[-1].add(key)
        return found

    def _files_for(self, module: str, near: str | None = None) -> list[FileSummary]:
        keys = [k for k in self._by_module.get(module, []) if k in self.entries]
        if near and len(keys) > 1:
            base = os.path.dirname(os.path.abspath(near))

            def closeness(key: str) -> tuple[bool, int, str]:
                try:
                    shared = len(os.path.commonpath([base, key]))
                except ValueError:  # different drives
                    shared = 0
                return os.path.dirname(key) != base, -shared, key

            keys.sort(key=closeness)
        return [self._summary(k) for k in keys]

    def _split(self, qual: str, near: str | None = None) -> tuple[FileSummary, str] | None:
        """Split ``pkg.mod.Name`` into the file of ``pkg.mod`` and ``Name``, following
        re-exports (``from .models import Net`` in ``__init__.py``)."""
        key = (qual, os.path.dirname(near) if near else "")
        found = self._split_cache.get(key)
        if found is None:
            self._looking.append(set())
            try:
                split = self._find_split(qual, near, 1)
            finally:
                looked = frozenset(self._looking.pop())
            found = self._split_cache[key] = (split, looked)
        if self._looking:
            self._looking[-1].update(found[1])
        return found[0]

    def looked_at(self, ask: Callable[[], T]) -> tuple[T, frozenset[str]]:
        """``ask()``'s answer and the files whose summaries it was made from (only
        summaries: what callers pass is not tracked)."""
        self._looking.append(set())
        try:
            answer = ask()
        finally:
            looked = frozenset(self._looking.pop())
        return answer, looked

    def file_digest(self, key: str) -> str:
        """A digest of what a file's summary is made from: path, module, settings, text."""
        found = self._digests.get(key)
        if found is None:
            from .reads import canonical

            entry = self.entries.get(key)
            found = content_key(key, entry.module, canonical(self.settings_of(key)),
                                entry.read() or "") if entry is not None else "absent"
            self._digests[key] = found
        return found

    def layout_digest(self) -> str:
        """A digest of which files the project has and their module names (what a
        module path resolves to)."""
        if self._layout is None:
            self._layout = content_key(*(f"{key}\0{self.entries[key].module}"
                                         for key in sorted(self.entries)))
        return self._layout

    def _find_split(self, qual: str, near: str | None, depth: int
                    ) -> tuple[FileSummary, str] | None:
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
                    found = self._find_split(target + name[len(head):], near, depth + 1)
                    if found is not None:
                        return found
        return None

    def find_class(self, qualname: str, near: str | None = None) -> ClassSummary | None:
        found = self._split(qualname, near)
        return found[0].classes.get(found[1]) if found is not None else None

    def find_function(self, qualname: str, near: str | None = None) -> Summary | None:
        found = self._split(qualname, near)
        return found[0].functions.get(found[1]) if found is not None else None

    def summary_lookup(self, path: str, looked: set[str] | None = None
                       ) -> Callable[[str], Summary | None]:
        """The lookup the dataflow uses for calls into other files; the files whose
        summaries its answers were made from are added to ``looked``."""
        own = file_key(path)
        module = self.module_name(path)
        cache: dict[str, Summary | None] = {}

        def lookup(qual: str) -> Summary | None:
            if qual in cache:
                return cache[qual]
            full = _resolve_relative(qual, module) if qual.startswith(".") else qual
            found = None
            if full.split(".", 1)[0] in self._heads:
                if looked is not None:
                    self._looking.append(looked)
                try:
                    found = self._split(full, path)
                finally:
                    if looked is not None:
                        self._looking.pop()
            result = None
            if found is not None and file_key(found[0].path) != own:
                summary, name = found   # (our own file: the in-file analysis knows better)
                result = summary.functions.get(name)
            cache[qual] = result
            return result

        return lookup

    # ---------------------------------------------------------------- call records

    def caller_lookup(self, path: str) -> Callable[[str], CallRecord | None]:
        """What the other files pass to the top-level functions of ``path``."""
        key = file_key(path)

        def lookup(function: str) -> CallRecord | None:
            if key not in self.entries:
                return None
            found = self.records_into(key).get(function)
            return _copy(found) if found is not None else None

        return lookup

    def solve_all(self) -> ProjectFacts:
        """Compute every call record now (before the facts are sent to other processes)."""
        for key in sorted(self.entries):
            self.records_into(key)
        return self

    def records_into(self, key: str) -> Records:
        """Merged call records of the functions of file ``key`` that want them."""
        found = self._records.get(key)
        if found is None:
            def unsolved_callers(node: str) -> list[str]:
                return [c for c in self._caller_files(node) if c not in self._records]

            for component in _components(key, unsolved_callers):
                self._solve_component(component)
            found = self._records[key]
        return found

    def _caller_files(self, key: str) -> list[str]:
        return sorted({c for callers in self._callers_of(key).values() for c in callers})

    def _callers_of(self, key: str) -> dict[str, tuple[str, ...]]:
        """Function name -> the files that may call it (they import it or its module)."""
        found = self._callers.get(key)
        if found is not None:
            return found
        found = {}
        entry = self.entries[key]
        text = self._text(key) if len(self.entries) > 1 else None
        if text:
            names, modules = self._importer_index()
            module_last = entry.module.rsplit(".", 1)[-1]
            by_module = modules.get(module_last, set())
            imported = None if by_module else top_level_functions(text) & names.keys()
            patterns = self.settings_of(key).evaluation_function_names
            maybe = may_want_callers(text, imported, patterns) if imported != set() else set()
            # summarise the file only when another file calls one of those functions
            if any(self._calls(c, f) for f in sorted(maybe)
                   for c in sorted((names.get(f, set()) | by_module) - {key})):
                for function in sorted(self._summary(key).wants_callers):
                    callers = (names.get(function, set()) | by_module) - {key}
                    callers = {c for c in callers if self._calls(c, function)}
                    if callers:
                        found[function] = tuple(sorted(callers))
        self._callers[key] = found
        return found

    def _calls(self, caller: str, function: str) -> bool:
        text = self._text(caller)
        return bool(text) and calls_by_text(text, function)  # type: ignore[arg-type]

    def _importer_index(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        if self.seen is not None:
            self.seen.imports = True
        if self._importers is None:
            names: dict[str, set[str]] = {}
            modules: dict[str, set[str]] = {}
            for key in self.entries:
                imported, imported_modules = self._imports_of(key)
                for name in imported:
                    names.setdefault(name, set()).add(key)
                for module in imported_modules:
                    modules.setdefault(module.rsplit(".", 1)[-1], set()).add(key)
            self._importers = (names, modules)
        return self._importers

    def _solve_component(self, component: list[str]) -> None:
        """Records into every file of one strongly connected component, its callers
        outside it solved already. A cycle is iterated to a fixed point, each round
        analysing all members against the previous round's records (members pass
        nothing to each other before the first round)."""
        members = set(component)
        inside = [k for k in component if members & set(self._caller_files(k))]
        for key in inside:
            self._outgoing[key] = {}
        for _ in range(_MAX_ROUNDS if inside else 0):
            for key in component:
                self._records[key] = self._merge_records(key)
            outgoing = {k: self._analyse_calls(k) for k in inside}
            if all(outgoing[k] == self._outgoing[k] for k in inside):
                break
            self._outgoing.update(outgoing)
        for key in component:
            self._records[key] = self._merge_records(key)

    def _merge_records(self, key: str) -> dict[str, CallRecord]:
        out: dict[str, CallRecord] = {}
        for function, callers in self._callers_of(key).items():
            merged: CallRecord | None = None
            for caller in callers:
                for qual, record in self._outgoing_of(caller).items():
                    if qual.rsplit(".", 1)[-1] != function:
                        continue
                    found = self._split(qual, self.entries[caller].path)
                    if found is None or file_key(found[0].path) != key:
                        continue
                    merged = _merge(merged, record)
            if merged is not None:
                out[function] = merged
        return out

    def _outgoing_of(self, caller: str) -> dict[str, CallRecord]:
        found = self._outgoing.get(caller)
        if found is None:
            found = self._outgoing[caller] = self._analyse_calls(caller)
        return found

    def _analyse_calls(self, key: str) -> dict[str, CallRecord]:
        """Analyse one file (as ``analyze()`` does) and keep its calls into other files,
        with the modes passed; needs the records into the file solved (or, in a cycle,
        those of the previous round)."""
        from .analysis.facts import collect
        from .analysis.flow import Interpreter
        from .analysis.layers import Resolver, file_summaries
        from .analyzer import is_test_path
        from .reads import RecordingFacts

        entry = self.entries[key]
        text = self._text(key)
        if text is None:
            return {}
        settings = self.settings_of(key)
        records = self._records.get(key, {})
        stored = self._stored_calls(entry, text, settings, records)
        if stored is not None:
            return stored
        try:
            tree = parse_python(text, entry.path)
        except SourceSyntaxError:
            return {}
        recording = RecordingFacts(self)
        try:
            facts = collect(tree, entry.path)
            resolver = Resolver(file_summaries(facts, entry.path), facts.imports, recording,
                                entry.module)
            interp = Interpreter(tree, facts, resolver, entry.path,
                                 settings.evaluation_function_names,
                                 settings.evaluation_loader_names,
                                 recording.summary_lookup(entry.path), is_test_path(entry.path),
                                 lambda function: _copy_or_none(records.get(function)))
            interp.run_all(split_lines(text))
        except (RecursionError, MemoryError):
            return {}
        found = strip_records(interp.external_records, os.path.basename(entry.path))
        if self.store is not None:
            self.store.put("calls", self._calls_key(entry, text, settings, records),
                           (recording.reads(), found))
        return found

    def _calls_key(self, entry: FileInput, text: str, settings: Settings,
                   records: Records) -> str:
        from .reads import canonical

        return content_key(entry.path, entry.module, text, canonical(settings),
                           canonical(records))

    def _stored_calls(self, entry: FileInput, text: str, settings: Settings,
                      records: Records) -> dict[str, CallRecord] | None:
        """A caller's calls into other files from the disk cache, if what its analysis
        read of these facts is unchanged."""
        from .reads import Reads, Uncanonical

        if self.store is None:
            return None
        try:
            stored = self.store.get("calls", self._calls_key(entry, text, settings, records))
        except Uncanonical:
            return None
        if not (isinstance(stored, tuple) and len(stored) == 2
                and isinstance(stored[0], Reads) and stored[0].still_hold(self)):
            return None
        return stored[1]  # type: ignore[no-any-return]


def _components(root: str, callers: Callable[[str], list[str]]) -> Iterator[list[str]]:
    """Strongly connected components of the graph ``file -> files that may call it``
    reachable from ``root``, each after every component it reaches (callers first),
    members sorted: Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    work: list[tuple[str, Iterator[str]]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        work.append((node, iter(callers(node))))

    visit(root)
    while work:
        node, edges = work[-1]
        advanced = False
        for nxt in edges:
            if nxt not in index:
                visit(nxt)
                advanced = True
                break
            if nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if advanced:
            continue
        work.pop()
        if work:
            parent = work[-1][0]
            low[parent] = min(low[parent], low[node])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            yield sorted(component)


def _merge(into: CallRecord | None, record: CallRecord) -> CallRecord:
    merged = into if into is not None else CallRecord()
    for name, modes in record.modes.items():
        merged.modes.setdefault(name, set()).update(modes)
    merged.classes.update(record.classes)
    merged.grad |= record.grad
    merged.count += record.count
    return merged


def _copy(record: CallRecord) -> CallRecord:
    return CallRecord({k: set(v) for k, v in record.modes.items()}, dict(record.classes),
                      set(record.grad), record.count)


def _copy_or_none(record: CallRecord | None) -> CallRecord | None:
    return _copy(record) if record is not None else None


def strip_records(records: Mapping[str, CallRecord], where: str) -> dict[str, CallRecord]:
    """Records without AST references, their modes labelled with the caller's file."""
    out: dict[str, CallRecord] = {}
    for qual in sorted(records):
        record = records[qual]
        modes = {k: {replace(m, node=None, guard=None, where=m.where or where) for m in v}
                 for k, v in record.modes.items()}
        out[qual] = CallRecord(modes, dict(record.classes), set(record.grad), record.count)
    return out
