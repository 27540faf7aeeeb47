"""Utilities (data loading, benchmarking, profiling and serialization arrive with later issues)."""
