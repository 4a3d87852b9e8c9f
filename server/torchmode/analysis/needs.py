"""The kinds of facts a rule can read: what it declares it needs.

Kept apart from ``api.py`` (which builds the facts) so that text prefilters, made
from these kinds, cost no import of the engine.
"""

from __future__ import annotations

from enum import Enum


class Need(Enum):
    """A kind of fact a rule reads; what it declares decides what the engine must find
    (and which files a text prefilter may skip) before the rule runs."""

    FORWARD_CALLS = "forward calls and their evaluation regions"
    ARGUMENT_USES = "models handed to calls that run them"
    TRAINING_STEPS = "training steps"
    BACKWARD_CALLS = "backward() calls"
    EXPORTS = "exports and traces"
    MISUSES = "misused mode and grad APIs"
    FUNCTIONAL_CALLS = "functional calls with a training argument"
    FREEZES = "freezes and the train() calls that undo them"
