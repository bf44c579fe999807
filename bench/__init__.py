"""Benchmarks run by `make bench`: the tracker under load, measured against its targets."""
