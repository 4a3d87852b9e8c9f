"""The parts of the mode interpreter (``analysis.flow.Interpreter``), one concern each.

``runs`` (which functions run, in which order), ``statements`` (the statement
walker), ``values`` (assignments and expressions), ``module_calls`` (mode switches,
forward calls, training steps), ``calls`` (constructors, loaders, exports, the
project's own functions; ``call_kinds`` says which PyTorch table a called name belongs
to), and ``syntax`` (pure questions about syntax trees). Each part is a class whose
methods take the composed ``Interpreter`` as ``self``. Beside them, ``frames`` is the
frame binder the walker uses: where jumps go, and the joins.
"""
