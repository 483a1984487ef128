"""Benchmark commands (not part of the test run). Results are recorded in docs/benchmarks.md."""
