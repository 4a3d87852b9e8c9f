"""Facts the mode dataflow produces and the rules consume.

Everything here is plain data: the interpreter in ``flow.py`` fills it in one run
over the functions that matter, and each rule reads it without walking the tree.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from enum import Enum

from ..findings import Range

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10
    class StrEnum(str, Enum):
        """``enum.StrEnum`` of Python 3.11: a member formats and prints as its value."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return str(self.value).__format__(spec)


class ModeKind(StrEnum):
    """A module mode the engine can tell apart. A member is its text (``"train"``), so
    hovers, messages and JSON print it as before, and a set of modes made of members
    compares equal to one made of the same strings."""

    TRAIN = "train"
    EVAL = "eval"
    DYNAMIC = "dynamic"    # decided at run time (``model.train(flag)``)
    UNKNOWN = "unknown"
    LOADED = "loaded"      # unknown because it came from a loader: whatever was saved (reportable)
    ENTRY = "entry"        # summary runs only: whatever the caller had


class GradState(StrEnum):
    """Whether autograd records a graph at a place."""

    ON = "on"
    OFF = "off"
    DYNAMIC = "dyn"        # ``set_grad_enabled(flag)`` with a non-literal flag
    UNKNOWN = "unk"        # a function's entry with no visible caller


# Short names the interpreter modules use for the members.
TRAIN = ModeKind.TRAIN
EVAL = ModeKind.EVAL
DYNAMIC = ModeKind.DYNAMIC
UNKNOWN = ModeKind.UNKNOWN
LOADED = ModeKind.LOADED
ENTRY = ModeKind.ENTRY
GRAD_ON = GradState.ON
GRAD_OFF = GradState.OFF
GRAD_DYN = GradState.DYNAMIC
GRAD_UNK = GradState.UNKNOWN
# The modes hovers, inlay hints and forward-call facts show, in the order they show
# them (``LOADED`` and ``ENTRY`` read as ``UNKNOWN`` there: ``Mode.public_kind``).
PUBLIC_MODES = (TRAIN, EVAL, DYNAMIC, UNKNOWN)


@dataclass(frozen=True)
class Mode:
    """One possible mode of an entity and where it came from.

    ``line`` is the 0-based line of the statement that set it; ``how`` says how
    (``constructed``, ``model.eval()``, ``evaluate()``). ``flagged`` marks modes
    set by a statement another rule already reports (bare ``m.eval``, ``m.training = False``):
    the user's intent is tracked, and no follow-on TM001/TM003 is made from it.
    """

    kind: ModeKind
    line: int | None = None
    col: int = 0
    how: str = ""
    flagged: bool = False
    node: ast.AST | None = field(default=None, compare=False, hash=False)
    # set inside ``if <guard>``: (condition text, branch taken, names it reads)
    guard: tuple[str, bool, frozenset[str]] | None = None
    where: str = ""           # another file's name when a caller there set it
    param_flag: str | None = None   # summary: train(<this parameter>), resolved per call
    # set by the entity's own ``.train()`` / ``.eval()`` call (not a constructor, a loader,
    # a helper, a flag assignment or ``train(flag)``)
    method_call: bool = False

    @property
    def public_kind(self) -> ModeKind:
        return UNKNOWN if self.kind in (LOADED, ENTRY) else self.kind


Modes = frozenset[Mode]


@dataclass(frozen=True)
class Region:
    """An evaluation-region candidate on the lexical stack of a forward call."""

    kind: str                 # "nograd" | "loop" | "function" | "script" | "comp"
    node: ast.AST             # the with/for/while statement, or the function def
    reaches_training: bool    # a training step is reached inside it
    training_context: bool = False  # nograd block sitting in a training iteration


@dataclass
class ForwardEvent:
    node: ast.Call
    key: str                  # entity as written (``.module`` stripped)
    canonical: str
    modes: set[Mode]
    grad: set[GradState]
    lgrad: set[GradState]
    func: FuncCtx
    stmts: tuple[ast.AST, ...]   # enclosing statements in the function, outermost first
    regions: tuple[Region, ...]
    trained: bool
    smoke: bool
    class_name: str | None = None


@dataclass
class StepEvent:
    node: ast.Call
    kind: str                 # "optimizer" | "backward" | "call"
    func: FuncCtx
    stmts: tuple[ast.AST, ...]
    lgrad: set[GradState] = field(default_factory=set)
    # modes at the step of the entities forward-called so far in the function
    modes: dict[str, set[Mode]] = field(default_factory=dict)


@dataclass
class ExportEvent:
    node: ast.Call
    key: str
    modes: set[Mode]
    func: FuncCtx
    stmts: tuple[ast.AST, ...]


class MisuseKind(Enum):
    """A statement that misuses a mode or grad API, whatever rule reports it."""

    MODE_NOT_CALLED = "mode-not-called"            # ``m.eval`` / ``m.train`` as a statement
    CONTEXT_NOT_CALLED = "context-not-called"      # ``with torch.no_grad:``
    FLAG_ASSIGNED = "flag-assigned"                # ``m.training = False``
    MODE_METHOD_REPLACED = "mode-method-replaced"  # ``m.eval = ...``


@dataclass
class MisuseEvent:
    """A misuse statement as the interpreter met it."""

    kind: MisuseKind
    node: ast.AST             # the attribute (or context expression) to report
    stmt: ast.stmt
    key: str                  # the entity (or the context as written: ``torch.no_grad``)
    name: str                 # "eval" | "train" | "no_grad" | "inference_mode" | "training" ...
    value: ast.expr | None = None   # the assigned value


@dataclass
class ModeSwitchEvent:
    """``m.eval()`` / ``m.train()`` (or a helper that evaluates ``m``) in the main run."""

    kind: ModeKind            # EVAL | TRAIN
    canonical: str
    func: FuncCtx
    stmts: tuple[ast.AST, ...]


@dataclass
class FuncCtx:
    """The function (or module) a fact belongs to."""

    name: str
    node: ast.AST             # FunctionDef / AsyncFunctionDef / Module
    class_name: str | None
    is_module_class: bool
    gradient_use: bool
    is_pytest: bool
    is_hook: bool
    eval_named: bool
    has_step: bool            # reaches a training step (directly or through calls)
    nograd_decorated: bool = False


@dataclass(frozen=True)
class EntityOccurrence:
    """A model entity at one place in the file, for hovers."""

    entity: str
    range: Range
    modes: frozenset[str]
    set_at_line: int | None
    class_name: str | None = None
    class_path: str | None = None
    layers: str | None = None
    # submodules held in eval by a freeze in effect here: "model.backbone (line 30)"
    held_in_eval: tuple[str, ...] = ()
