"""Benchmarks: ``python -m benchmarks.<name> [--quick] [--json PATH]``; each prints a table and
one JSON line, and compares against a baseline measured in the same run."""
