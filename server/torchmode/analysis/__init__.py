"""The engine's analysis: facts, entities, mode dataflow, regions, summaries."""

from .model import EntityOccurrence

__all__ = ["EntityOccurrence"]
