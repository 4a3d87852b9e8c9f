"""Callbacks handed to an object that trains a model (RULES §2 "Closures and callbacks").

A minGPT-style script builds ``trainer = Trainer(config, model, dataset)``, registers
``trainer.set_callback("on_batch_end", cb)`` (or ``add_callback``, or passes
``callbacks=[cb]`` to the constructor) and calls ``trainer.run()``. The trainer puts the
model in train mode before its loop, so the callback runs while the model trains, not in
whatever mode the script left it at the registration. This module only reads the syntax:
which calls build a trainer and which names a call hands over as callbacks; the
interpreter (flow.py) records the callback's call with the trainer's models in train mode.

Decisions: a trainer is an object built with a call whose class name ends in ``Trainer``
or ``Learner``, or assigned to a name containing ``trainer``; only names of functions are
callbacks (a ``lambda`` or a callback object is not followed); forward hooks
(``register_forward_hook``) are not trainer callbacks: they run inside a forward call, in
the caller's mode.
"""

from __future__ import annotations

import ast
import re

from .names import dotted

CALLBACK_METHODS = frozenset({"add_callback", "set_callback", "register_callback"})
CALLBACK_KEYWORDS = frozenset({"callbacks", "callback"})
_TRAINER_CLASS = re.compile(r"(?:Trainer|Learner)$")


def handed_callbacks(call: ast.Call) -> list[str]:
    """The function names ``call`` hands over as callbacks."""
    return [name.id for name in handed_callback_names(call)]


def handed_callback_names(call: ast.Call) -> list[ast.Name]:
    """The names ``call`` hands over as callbacks: the name arguments of
    ``x.add_callback(...)`` / ``set_callback`` / ``register_callback``, and the names in
    a ``callbacks=[...]`` / ``callback=`` keyword."""
    values: list[ast.expr] = []
    if isinstance(call.func, ast.Attribute) and call.func.attr in CALLBACK_METHODS:
        values.extend(call.args)
    for kw in call.keywords:
        if kw.arg in CALLBACK_KEYWORDS:
            value = kw.value
            values.extend(value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value])
    return [v for v in values if isinstance(v, ast.Name)]


def builds_trainer(call: ast.Call, target_names: list[str]) -> bool:
    """Does ``call`` (assigned to ``target_names``) build an object that trains the
    models it is given?"""
    name = dotted(call.func) or ""
    if _TRAINER_CLASS.search(name.rsplit(".", 1)[-1]):
        return True
    return any("trainer" in t.lower() for t in target_names)


def registering_receiver(call: ast.Call) -> str | None:
    """``trainer`` in ``trainer.set_callback(...)``: the object a callback is handed to."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in CALLBACK_METHODS:
        return dotted(func.value)
    return None
