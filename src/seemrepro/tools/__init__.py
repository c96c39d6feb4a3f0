"""Tooling around the library: benchmarks, the d3rlpy peer and the book pipeline."""
