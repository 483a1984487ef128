"""Benchmarks: `make bench` (or `python -m benchmarks --help`). Results go in docs/benchmarks.md."""
