"""Data layer: the :class:`Ladder` model, readers, writers, validation, examples, simulator."""

from codbayes.data.ladder import BenchmarkResults, Ladder

__all__ = ["BenchmarkResults", "Ladder"]
