"""The engine's analysis: facts, entities, mode dataflow, regions, summaries.

How one file is analysed (``torchmode.analyzer.analyze``):

1. ``ast.parse`` once (``source.parse_python``). A cheap text prefilter skips files
   that hold none of the words any rule needs.
2. ``facts.collect``: one explicit-stack walk over the tree gathers imports, classes
   (with their layer facts, ``layers.ClassSummary``), functions and what each one does
   in its own body (mode calls, grad contexts, optimizer steps, backward, gradient use,
   calls), which names are used as modules and which are optimised (trained).
3. ``flow.Interpreter``: an abstract interpreter over statements. The state at each
   point maps every model entity (a canonical id; names and attribute paths are
   aliases of it) to the set of ``model.Mode`` values it may have (train / eval /
   dynamic / unknown / loaded, each with the line that set it), plus the grad state.
   Branches join, loops run to a fixed point, try/except/finally and early exits are
   followed, ``if`` conditions are correlated across branches. Functions get summaries
   on first call (callee before caller: what they do to their parameters, ``self.*``
   and globals, and whether they restore), and run with the modes their visible
   callers pass (in this file, and through ``solve.ProjectFacts`` in others).
   Functions whose text cannot hold a finding, and that call nothing that can, are
   not run (speed).
4. ``context.FileAnalysis`` derives evaluation regions, training iterations, fix
   anchors and spellings from the recorded events; each rule in ``torchmode.rules``
   reads those events (no rule walks the tree).
"""

from .model import EntityOccurrence

__all__ = ["EntityOccurrence"]
