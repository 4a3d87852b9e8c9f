"""Functional calls that ignore the module's mode (TM008).

``F.dropout(x, p)`` inside ``forward`` takes its ``training`` argument, not the
module's ``self.training``: with the default ``training=True`` it keeps
dropping activations after ``model.eval()``. ``F.alpha_dropout``,
``F.feature_alpha_dropout``, ``F.rrelu`` and ``F.batch_norm`` default to
``training=False`` and so never behave as in training. This module finds such
calls in the methods of ``nn.Module`` subclasses, by any spelling that resolves
through the file's imports. It reads only the tree and the class resolver: no
dataflow is needed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from .facts import ClassInfo, FileFacts
from .layers import Resolver
from .names import dotted


class Effect(Enum):
    """What the default ``training`` value does to a module in the other mode."""

    ON_IN_EVAL = "on-in-eval"          # default True: stays active after model.eval()
    OFF_IN_TRAIN = "off-in-train"      # default False: never active, even in training
    RUNNING_STATS = "running-stats"    # batch_norm: batch statistics never used or updated


@dataclass(frozen=True)
class ModeFunction:
    """A functional op whose behaviour depends on a ``training`` argument
    (PyTorch 2.13 signatures; checked in ``tests/truth``)."""

    qualname: str
    training_index: int        # position of ``training`` among the positional parameters
    default: bool | None       # None: the argument is required
    keyword: str = "training"

    @property
    def short(self) -> str:
        """``F.dropout`` / ``torch.rrelu``: how messages and hovers name it."""
        module, _, name = self.qualname.rpartition(".")
        return f"F.{name}" if module == "torch.nn.functional" else self.qualname

    @property
    def effect(self) -> Effect:
        if self.qualname.endswith("batch_norm"):
            return Effect.RUNNING_STATS
        return Effect.ON_IN_EVAL if self.default else Effect.OFF_IN_TRAIN


def _table() -> dict[str, ModeFunction]:
    entries = [ModeFunction(f"torch.nn.functional.{name}", 2, True)
               for name in ("dropout", "dropout1d", "dropout2d", "dropout3d")]
    entries += [ModeFunction(f"torch.nn.functional.{name}", 2, False)
                for name in ("alpha_dropout", "feature_alpha_dropout")]
    entries += [
        ModeFunction("torch.nn.functional.rrelu", 3, False),
        ModeFunction("torch.nn.functional.batch_norm", 5, False),
        ModeFunction("torch.rrelu", 3, False),
        # torch.dropout(input, p, train): ``train`` is required, so a call always chooses
        ModeFunction("torch.dropout", 2, None, "train"),
        ModeFunction("torch.alpha_dropout", 2, None, "train"),
        ModeFunction("torch.feature_alpha_dropout", 2, None, "train"),
    ]
    return {entry.qualname: entry for entry in entries}


MODE_FUNCTIONS: dict[str, ModeFunction] = _table()


@dataclass(frozen=True)
class IgnoredMode:
    """A call of a mode function that leaves ``training`` at its default."""

    call: ast.Call
    function: ModeFunction
    spelled: str               # the callee as written: ``F.dropout``, ``dropout``
    self_name: str             # the method's first parameter (``self``)
    class_name: str


def ignored_mode_calls(facts: FileFacts, resolver: Resolver) -> Iterator[IgnoredMode]:
    """Every call in a method of an ``nn.Module`` subclass that omits ``training``."""
    if not any(qual.startswith("torch") for qual in facts.imports.names.values()):
        return
    for name, info in facts.classes.items():
        if not _is_module(name, info, resolver):
            continue
        for method in info.methods.values():
            self_name = _self_param(method)
            if self_name is not None:
                yield from _in_method(method, self_name, name, facts)


def _is_module(name: str, info: ClassInfo, resolver: Resolver) -> bool:
    return any(resolver.is_module_base(base) for base in info.bases if base and base != name)


def _self_param(method: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The instance parameter; None for static and class methods."""
    for dec in method.decorator_list:
        if dotted(dec) in ("staticmethod", "classmethod"):
            return None
    args = method.args.posonlyargs + method.args.args
    return args[0].arg if args else None


def mode_function(call: ast.Call, facts: FileFacts) -> ModeFunction | None:
    """The table entry a call resolves to through the file's imports."""
    name = dotted(call.func)
    if name is None:
        return None
    return MODE_FUNCTIONS.get(facts.imports.qual_name(name))


def omits_training(call: ast.Call, function: ModeFunction) -> bool:
    """No ``training`` by keyword or position, and no ``*args``/``**kwargs`` that may carry it."""
    if any(isinstance(arg, ast.Starred) for arg in call.args):
        return False
    if any(kw.arg is None or kw.arg == function.keyword for kw in call.keywords):
        return False
    return len(call.args) <= function.training_index


def _uses_running_stats(call: ast.Call) -> bool:
    """``F.batch_norm(x, None, None, ...)`` always uses batch statistics: mode-independent."""
    running = call.args[1:3]
    for kw in call.keywords:
        if kw.arg in ("running_mean", "running_var"):
            running.append(kw.value)
    return not running or not all(_is_none(node) for node in running)


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _in_method(method: ast.FunctionDef | ast.AsyncFunctionDef, self_name: str,
               class_name: str, facts: FileFacts) -> Iterator[IgnoredMode]:
    for call, guarded in _calls(method.body, self_name, False):
        function = mode_function(call, facts)
        if function is None or function.default is None or not omits_training(call, function):
            continue
        if guarded and function.effect is Effect.ON_IN_EVAL:
            continue  # runs only in training mode, where training=True is right
        if function.effect is Effect.RUNNING_STATS and not _uses_running_stats(call):
            continue
        yield IgnoredMode(call, function, dotted(call.func) or function.short, self_name,
                          class_name)


def _calls(body: list[ast.stmt], self_name: str, guarded: bool
           ) -> Iterator[tuple[ast.Call, bool]]:
    """Calls in ``body`` with whether each runs only when ``self.training`` is true
    (under ``if self.training[ and ...]:``, in the ``else`` of ``if not self.training:``,
    after ``if not self.training: return``, or in ``a if self.training else b``)."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            truth = _training_test(stmt.test, self_name)
            yield from _expr_calls(stmt.test, self_name, guarded)
            yield from _calls(stmt.body, self_name, guarded or truth is True)
            yield from _calls(stmt.orelse, self_name, guarded or truth is False)
            if truth is False and not stmt.orelse and _exits(stmt.body):
                guarded = True
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # nested definitions run elsewhere (a nested def keeps its own guards)
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.stmt):
                continue
            yield from _expr_calls(child, self_name, guarded)
        for field in ("body", "orelse", "finalbody"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield from _calls(block, self_name, guarded)
        for handler in getattr(stmt, "handlers", ()):
            yield from _calls(handler.body, self_name, guarded)
        for case in getattr(stmt, "cases", ()):
            yield from _calls(case.body, self_name, guarded)


def _expr_calls(node: ast.AST, self_name: str, guarded: bool
                ) -> Iterator[tuple[ast.Call, bool]]:
    if isinstance(node, ast.IfExp):
        truth = _training_test(node.test, self_name)
        yield from _expr_calls(node.test, self_name, guarded)
        yield from _expr_calls(node.body, self_name, guarded or truth is True)
        yield from _expr_calls(node.orelse, self_name, guarded or truth is False)
        return
    if isinstance(node, ast.Lambda):
        return
    if isinstance(node, ast.Call):
        yield node, guarded
    for child in ast.iter_child_nodes(node):
        yield from _expr_calls(child, self_name, guarded)


def _training_test(test: ast.expr, self_name: str) -> bool | None:
    """True when ``test`` holds only in training mode (``self.training``, ``self.training
    and p > 0``), False when only in eval mode (``not self.training``), else None."""
    if _is_training_flag(test, self_name):
        return True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and \
            _is_training_flag(test.operand, self_name):
        return False
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) and \
            any(_training_test(value, self_name) is True for value in test.values):
        return True
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or) and \
            any(_training_test(value, self_name) is False for value in test.values):
        return False  # `not self.training or p == 0`: its else branch is training-only
    return None


def _is_training_flag(node: ast.expr, self_name: str) -> bool:
    return dotted(node) == f"{self_name}.training"


def _exits(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise))
