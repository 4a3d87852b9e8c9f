"""The abstract values of the mode interpreter and the state they live in.

A program point is a ``State``: for each entity (a canonical dotted name such as
``self.model``) the set of ``Mode`` values it may have there, the aliases from names to
entities, the grad state, and saved ``m.training`` flags or grad contexts held in
variables. ``Value`` is what an expression evaluates to: an existing entity (``Ent``),
a module made on the spot (``New``), a saved training flag (``Flag``), a tuple
(``Tup``) or a grad context (``GradCtx``). ``Summary`` is the effect of calling a
function, ``CallRecord`` what its callers pass in. The joins of states live with the
frame binder (``interp/frames.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Final

from .model import (
    ENTRY,
    UNKNOWN,
    GradState,
    Mode,
)

Modes = frozenset[Mode]
KEEP: Final = "keep"      # a grad context that leaves grad mode alone, on some path
GradCtxValue = GradState | str   # a grad state or KEEP
MAX_LOOP_ITERATIONS = 6
UNKNOWN_PARAM = Mode(UNKNOWN, None, 0, "a parameter with no visible caller")
ENTRY_MODES: frozenset[Mode] = frozenset({Mode(ENTRY)})   # immutable: shared, not rebuilt


@dataclass(frozen=True)
class Ent:
    """An existing entity."""

    canonical: str
    key: str


@dataclass(frozen=True)
class New:
    """A freshly made module (constructor, factory, load)."""

    modes: Modes
    cls: str | None = None
    loaded: bool = False
    children: tuple[str, ...] = ()   # entities passed in: submodules (mode follows ours)


@dataclass(frozen=True)
class Flag:
    """The value of ``m.training``: a snapshot to restore later."""

    canonical: str
    snapshot: Modes | None


@dataclass(frozen=True)
class Tup:
    """A tuple of values (``return model, opt``; ``a, b = b, a``), unpacked item by item."""

    items: tuple[Value, ...]


@dataclass(frozen=True)
class GradCtx:
    """A grad context manager held in a variable (``ctx = torch.no_grad()``); ``KEEP``
    among the values: on some path it is a context that leaves grad mode alone."""

    values: frozenset[GradCtxValue]


def grad_inside(values: frozenset[GradCtxValue],
                outside: frozenset[GradState]) -> frozenset[GradState]:
    """The grad states inside a ``with`` of a context that may set ``values``: ``KEEP``
    stands for the states outside it."""
    inside = frozenset(v for v in values if isinstance(v, GradState))
    return inside | outside if KEEP in values else inside


Value = Ent | New | Flag | Tup | GradCtx | None


class State:
    """One program point. Dicts are copied on first write (branches share until then);
    dotted keys (``model.backbone``) are indexed so dropping children is cheap."""

    __slots__ = ("modes", "alias", "grad", "lgrad", "saved", "dotted", "adotted", "_own")

    def __init__(self, modes: dict[str, Modes], alias: dict[str, str], grad: frozenset[GradState],
                 lgrad: frozenset[GradState], saved: dict[str, Flag | GradCtx],
                 dotted: set[str] | None = None, adotted: set[str] | None = None) -> None:
        self.modes = modes
        self.alias = alias
        self.grad = grad
        self.lgrad = lgrad
        self.saved = saved
        self.dotted = dotted if dotted is not None else {k for k in modes if "." in k}
        self.adotted = adotted if adotted is not None else {k for k in alias if "." in k}
        self._own = True

    def copy(self) -> State:
        twin = State(self.modes, self.alias, self.grad, self.lgrad, self.saved, self.dotted,
                     self.adotted)
        twin._own = False
        self._own = False
        return twin

    def _write(self) -> None:
        if not self._own:
            self.modes = dict(self.modes)
            self.alias = dict(self.alias)
            self.saved = dict(self.saved)
            self.dotted = set(self.dotted)
            self.adotted = set(self.adotted)
            self._own = True

    def set(self, key: str, modes: Modes) -> None:
        self._write()
        self.modes[key] = modes
        if "." in key:
            self.dotted.add(key)

    def drop_children(self, key: str) -> None:
        if not self.dotted:
            return
        prefix = key + "."
        doomed = [k for k in self.dotted if k.startswith(prefix)]
        if doomed:
            self._write()
            for k in doomed:
                del self.modes[k]
                self.dotted.discard(k)

    def set_alias(self, key: str, canonical: str) -> None:
        self._write()
        self.alias[key] = canonical
        if "." in key:
            self.adotted.add(key)

    def drop_alias(self, key: str) -> None:
        prefix = key + "."
        doomed = [k for k in self.adotted if k.startswith(prefix)] if self.adotted else []
        if key in self.alias or doomed:
            self._write()
            self.alias.pop(key, None)
            for k in doomed:
                del self.alias[k]
                self.adotted.discard(k)

    def save(self, key: str, value: Flag | GradCtx | None) -> None:
        if value is None:
            if key in self.saved:
                self._write()
                del self.saved[key]
            return
        self._write()
        self.saved[key] = value

    def same(self, other: State) -> bool:
        return (self.grad == other.grad and self.lgrad == other.lgrad
                and (self.modes is other.modes or self.modes == other.modes)
                and (self.alias is other.alias or self.alias == other.alias)
                and (self.saved is other.saved or self.saved == other.saved))


_SPLITS: dict[str, tuple[tuple[str, str], ...]] = {}


def key_splits(key: str) -> tuple[tuple[str, str], ...]:
    """``(prefix, rest)`` pairs of a dotted key, longest prefix first:
    ``a.b.c`` -> ``(("a.b", "c"), ("a", "b.c"))``. Memoised: the same keys are looked
    up at every statement that mentions them."""
    found = _SPLITS.get(key)
    if found is None:
        parts = key.split(".")
        found = tuple((".".join(parts[:i]), ".".join(parts[i:]))
                      for i in range(len(parts) - 1, 0, -1))
        if len(_SPLITS) > 100_000:
            _SPLITS.clear()
        _SPLITS[key] = found
    return found


def resolve_alias(alias: dict[str, str], key: str) -> str:
    """The canonical entity a name stands for: the name itself, or through the alias of
    the name or of its longest aliased prefix (``m.backbone`` with ``m -> self.model``)."""
    if key in alias:
        return alias[key]
    if "." not in key:
        return key
    for prefix, rest in key_splits(key):
        if prefix in alias:
            return alias[prefix] + "." + rest
    return key


@dataclass
class Summary:
    """Effect of calling a function, in its own names (param names, ``self.x``, globals)."""

    effects: dict[str, Modes] = field(default_factory=dict)
    reaches_step: bool = False
    returns: Value = None
    params: list[str] = field(default_factory=list)
    name: str = ""
    line: int = 0
    # @contextmanager functions: the effect when the ``with`` body starts (at ``yield``)
    enter_effects: dict[str, Modes] | None = None
    # every class the returned model may be built from (``_create()`` returning an
    # ``AutoShape`` or a ``DetectMultiBackend``), sorted: whether its forward runs without
    # grad (Interpreter.may_run_grad_off)
    return_classes: tuple[str, ...] = ()


@dataclass
class CallRecord:
    """What the visible callers of a function pass in, joined over its calls: the modes
    of its parameters and ``self.*`` entities, their classes, and the grad states."""

    modes: dict[str, set[Mode]] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    grad: set[GradState] = field(default_factory=set)
    count: int = 0


class Budget(Exception):
    """Raised when the statement budget is spent (absurd inputs); loops then stop iterating."""


def entity_children(args: list[Value]) -> tuple[str, ...]:
    """The entities among a constructor's arguments: submodules whose mode follows it."""
    return tuple(a.canonical for a in args if isinstance(a, Ent))


def strip_mode(mode: Mode) -> Mode:
    """A mode without its syntax node, fit to leave the file (another file's summary)."""
    return Mode(mode.kind, mode.line, mode.col, mode.how, mode.flagged, None,
                method_call=mode.method_call)


def strip_nodes(summary: Summary) -> Summary:
    """A summary whose modes hold no syntax nodes, to be used by other files."""
    effects = {k: frozenset(strip_mode(m) for m in v) for k, v in summary.effects.items()}
    returns = summary.returns
    if isinstance(returns, New):
        returns = New(frozenset(strip_mode(m) for m in returns.modes), returns.cls,
                      returns.loaded)
    return Summary(effects, summary.reaches_step, returns, list(summary.params), summary.name,
                   summary.line, return_classes=summary.return_classes)


def self_keys(state: State) -> list[str]:
    """The ``self.*`` entities and aliases of a state, sorted."""
    keys = {k for k in state.modes if k.startswith("self.") and "@" not in k}
    keys |= {k for k in state.alias if k.startswith("self.")}
    return sorted(keys)


def record_lookup(modes: Mapping[str, AbstractSet[Mode]], key: str) -> set[Mode] | None:
    """The recorded modes of a key, or of its longest recorded prefix; None if neither."""
    if key in modes:
        return set(modes[key])
    if "." not in key:
        return None
    for prefix, _ in key_splits(key):
        if prefix in modes:
            return set(modes[prefix])
    return None
