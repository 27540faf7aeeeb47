"""Utilities: ``torchlite.utils.data`` (datasets, samplers, DataLoader). Benchmarking and profiling arrive later."""
from . import data

__all__ = ["data"]
